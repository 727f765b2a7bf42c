import { useQuery } from "@tanstack/react-query";
import { POLL_INTERVAL_MS } from "../Migrations/useLiveMigrations";

/** Whether Studio's database answers (`GET /api/health`: 200 `{ ok: true }`, 503 when not). */
export function useDatabaseHealth() {
  return useQuery({
    queryKey: ["studio", "health"],
    queryFn: async ({ signal }): Promise<boolean> => {
      const response = await fetch("/api/health", { cache: "no-store", signal });
      if (response.status === 200 || response.status === 503) return response.ok;
      throw new Error(`Studio answered ${response.status} for its health.`);
    },
    refetchInterval: POLL_INTERVAL_MS,
    refetchOnWindowFocus: "always",
    retry: false,
  });
}
