import { Icon } from "../../ui/Icon";
import type { MigrationView } from "./Migrations.types";
import { shortHash } from "./Migrations.utils";

interface ChecksumBadgeProps {
  checksum: MigrationView["checksum"];
}

/** Whether the file on disk is still what was applied. */
export function ChecksumBadge({ checksum }: ChecksumBadgeProps) {
  if (checksum.state === "match") {
    return (
      <span
        className="inline-flex items-center gap-1 text-xs text-foreground-light"
        title={`SHA-256 ${checksum.recorded ?? ""}`}
      >
        <Icon name="check" className="size-3 text-brand" />
        Match
      </span>
    );
  }
  if (checksum.state === "drift") {
    return (
      <span
        className="inline-flex items-center gap-1 text-xs font-medium text-warning"
        title={`Recorded ${shortHash(checksum.recorded)}, on disk ${shortHash(checksum.file)}`}
      >
        <Icon name="alert" className="size-3" />
        Drift
      </span>
    );
  }
  return (
    <span className="text-xs text-foreground-lighter">
      <span aria-hidden="true">—</span>
      <span className="sr-only">Not recorded</span>
    </span>
  );
}
