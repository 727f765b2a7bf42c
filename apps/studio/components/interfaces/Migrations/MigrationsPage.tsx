import { AppLayout } from "../../layout/AppLayout";
import { Migrations } from "./Migrations";

/** The Migrations page: the signed-in frame around the migrations interface. */
export function MigrationsPage() {
  return (
    <AppLayout title="Migrations">
      <Migrations />
    </AppLayout>
  );
}
