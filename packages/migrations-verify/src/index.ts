export { CATALOG_FINGERPRINT_SQL, CATALOG_SEARCH_PATH_SQL } from "./catalog-query.ts";
export {
  ScratchNotEmptyError,
  ScratchSqlError,
  ScratchUnavailableError,
  VerifyError,
  type VerifyErrorCode,
  VerifyInputError,
} from "./errors.ts";
export {
  type AttributeValue,
  type CatalogFingerprint,
  type CatalogObject,
  fingerprintFromRows,
  OBJECT_KINDS,
  type ObjectKind,
  objectKey,
  readCatalogFingerprint,
} from "./fingerprint.ts";
export {
  compareFingerprints,
  type DifferenceWording,
  type FingerprintDifference,
} from "./fingerprint-diff.ts";
export {
  openScratchDatabase,
  type Row,
  type ScratchDatabase,
  type ScratchOptions,
  type ScratchSession,
  scratchLabel,
} from "./scratch.ts";
export {
  type MigrationVerification,
  type SectionFailure,
  userObjectsIn,
  type VerifyOptions,
  type VerifyReport,
  type VerifyResult,
  type VerifySection,
  verifyMigrations,
} from "./verify.ts";
