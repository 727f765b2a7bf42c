import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../../utils/trpc";
import { Alert } from "../../ui/Alert";
import { CodeBlock } from "../../ui/CodeBlock";
import { Spinner } from "../../ui/Spinner";
import { describeError, FRESH_SQL } from "./Migrations.utils";
import { RecordedSqlNote } from "./RecordedSqlNote";
import { SqlDiff } from "./SqlDiff";

interface DriftReviewProps {
  migrationName: string;
}

/**
 * Before accepting a drifted migration's new checksum: what changed between the SQL that ran and
 * the file now — or, when what ran was not recorded, the file as it is, said plainly.
 */
export function DriftReview({ migrationName }: DriftReviewProps) {
  const trpc = useTRPC();
  const sql = useQuery({ ...trpc.migrations.sql.queryOptions({ migrationName }), ...FRESH_SQL });
  if (sql.isPending) {
    return (
      <p className="flex items-center gap-2 py-4 text-foreground-light">
        <Spinner />
        Comparing the file with what ran…
      </p>
    );
  }
  if (sql.isError) {
    return (
      <Alert tone="danger" role="alert" title="The SQL could not be loaded">
        {describeError(sql.error, "Loading the SQL").message}
      </Alert>
    );
  }
  const { up, recordedUp } = sql.data;
  return (
    <div className="space-y-2" data-testid="drift-review">
      <p className="text-xs font-medium text-foreground-light">
        What changed in the file since it was applied
      </p>
      {recordedUp !== null && up !== null ? (
        <SqlDiff before={recordedUp} after={up} className="max-h-[40vh]" />
      ) : (
        <>
          <RecordedSqlNote sql={sql.data} view={{ state: "applied", rolledBackAt: null }} />
          {up !== null ? (
            <p className="text-xs text-foreground-lighter">The up section in the file now:</p>
          ) : null}
          {up !== null ? (
            <CodeBlock
              code={up}
              label={`The up section of ${migrationName} in the file now`}
              className="max-h-[40vh]"
              data-testid="drift-file-up"
            />
          ) : null}
        </>
      )}
    </div>
  );
}
