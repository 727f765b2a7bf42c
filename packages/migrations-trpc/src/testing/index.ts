export {
  type MigrationsHttpServer,
  type MigrationsHttpServerOptions,
  startMigrationsHttpServer,
} from "./http-server.ts";
