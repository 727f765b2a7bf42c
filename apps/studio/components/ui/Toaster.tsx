import { Toaster as SonnerToaster } from "sonner";

/**
 * Where outcomes appear: sonner's toasts (as in Supabase Studio), fixed to a corner of the
 * viewport so that an act on the last row of a long page is answered where the operator is
 * looking; announced to screen readers by sonner's live region.
 */
export function Toaster() {
  return (
    <SonnerToaster
      theme="dark"
      position="bottom-right"
      richColors
      closeButton
      visibleToasts={4}
      containerAriaLabel="Notifications"
      toastOptions={{
        classNames: { toast: "font-sans", description: "text-xs" },
      }}
    />
  );
}
