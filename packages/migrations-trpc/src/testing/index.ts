export { type MigrationsHttpServer, startMigrationsHttpServer } from "./http-server.ts";
