/** The mark: a bolt in Supabase's green. Decorative; the word beside it names the app. */
export function StudioLogo() {
  return (
    <svg viewBox="0 0 24 24" className="size-5 shrink-0" aria-hidden="true">
      <path
        d="M13.6 2.3c.5-.6 1.4-.2 1.4.5v7.4h6.1c.8 0 1.3 1 .7 1.6l-11.4 9.9c-.5.6-1.4.2-1.4-.5v-7.4H3c-.8 0-1.3-1-.7-1.6z"
        fill="#3ECF8E"
      />
    </svg>
  );
}
