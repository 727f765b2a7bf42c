import "../styles/globals.css";
import { QueryClientProvider } from "@tanstack/react-query";
import type { AppProps } from "next/app";
import { useState } from "react";
import { Toaster } from "../components/ui/Toaster";
import { makeQueryClient, makeTRPCClient, TRPCProvider } from "../utils/trpc";

export default function StudioApp({ Component, pageProps }: AppProps) {
  // One of each per browser tab, made once: not at module level, so no state is shared on the server.
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(makeTRPCClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <Component {...pageProps} />
        <Toaster />
      </TRPCProvider>
    </QueryClientProvider>
  );
}
