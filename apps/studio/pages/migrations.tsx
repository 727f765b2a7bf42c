import { MigrationsPage } from "../components/interfaces/Migrations/MigrationsPage";

export default function MigrationsRoute() {
  return <MigrationsPage />;
}
