import { AppLayout } from "../../layout/AppLayout";
import { Home } from "./Home";

/** `/`: the platform database's overview, in the signed-in frame. */
export function HomePage() {
  return (
    <AppLayout title="Home">
      <Home />
    </AppLayout>
  );
}
