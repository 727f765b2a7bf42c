export type IconName =
  | "check"
  | "clock"
  | "x"
  | "alert"
  | "pause"
  | "undo"
  | "file-missing"
  | "shuffle"
  | "code"
  | "play"
  | "history"
  | "refresh"
  | "log-out"
  | "database"
  | "copy"
  | "home"
  | "list"
  | "more"
  | "menu"
  | "flag"
  | "diff"
  | "flask"
  | "lock"
  | "chevron-right";

/** Paths in a 16×16 box, stroked: a small set in the spirit of Lucide, which Supabase uses. */
const PATHS: Record<IconName, string[]> = {
  check: ["M3 8.5l3 3 7-7"],
  clock: ["M8 14.5a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M8 4.5V8l2.5 1.5"],
  x: ["M4 4l8 8", "M12 4l-8 8"],
  alert: ["M8 1.8l6.6 11.7H1.4L8 1.8z", "M8 6.2v3.3", "M8 11.6v.1"],
  pause: ["M8 14.5a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M6.5 5.8v4.4", "M9.5 5.8v4.4"],
  undo: ["M5.5 3.5L2.5 6.5l3 3", "M2.5 6.5h7a4 4 0 0 1 0 8h-2"],
  "file-missing": [
    "M9.5 1.5h-5a1 1 0 0 0-1 1v11a1 1 0 0 0 1 1h7a1 1 0 0 0 1-1V4.5l-3-3z",
    "M6.5 7l3 3",
    "M9.5 7l-3 3",
  ],
  shuffle: [
    "M2 4.5h3.5l5 7H14",
    "M2 11.5h3.5l1.2-1.7",
    "M9.3 6.2l1.2-1.7H14",
    "M12 2.5l2 2-2 2",
    "M12 9.5l2 2-2 2",
  ],
  code: ["M5.5 4.5L2 8l3.5 3.5", "M10.5 4.5L14 8l-3.5 3.5"],
  play: ["M5 3.2v9.6L12.5 8 5 3.2z"],
  history: ["M2.2 8a5.8 5.8 0 1 0 1.7-4.1L2 5.8", "M2 2.5v3.3h3.3", "M8 5v3.2l2.2 1.3"],
  refresh: [
    "M13.5 8a5.5 5.5 0 0 1-9.7 3.5",
    "M2.5 8a5.5 5.5 0 0 1 9.7-3.5",
    "M12.5 1.8v2.9H9.6",
    "M3.5 14.2v-2.9h2.9",
  ],
  "log-out": [
    "M6 14.5H3.5a1 1 0 0 1-1-1v-11a1 1 0 0 1 1-1H6",
    "M10.5 11.5L14 8l-3.5-3.5",
    "M14 8H6",
  ],
  database: [
    "M8 5.5c3 0 5.5-.9 5.5-2S11 1.5 8 1.5 2.5 2.4 2.5 3.5 5 5.5 8 5.5z",
    "M2.5 3.5v9c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2v-9",
    "M2.5 8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2",
  ],
  copy: [
    "M5.5 5.5h7a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1h-7a1 1 0 0 1-1-1v-7a1 1 0 0 1 1-1z",
    "M2.5 10.5v-8a1 1 0 0 1 1-1h8",
  ],
  home: ["M2 7.2L8 2l6 5.2", "M3.5 6v7.5h3.2V10h2.6v3.5h3.2V6"],
  list: ["M6 4h7.5", "M6 8h7.5", "M6 12h7.5", "M2.5 4h.5", "M2.5 8h.5", "M2.5 12h.5"],
  more: [
    "M2.7 8a.8.8 0 1 0 1.6 0a.8.8 0 1 0-1.6 0",
    "M7.2 8a.8.8 0 1 0 1.6 0a.8.8 0 1 0-1.6 0",
    "M11.7 8a.8.8 0 1 0 1.6 0a.8.8 0 1 0-1.6 0",
  ],
  menu: ["M2.5 4h11", "M2.5 8h11", "M2.5 12h11"],
  flag: ["M3.5 14.5v-12", "M3.5 2.5h8l-1.8 3 1.8 3h-8"],
  diff: ["M5 2.5v6", "M2 5.5h6", "M2 12.5h6", "M11 2.5v11", "M9 11.5l2 2 2-2"],
  flask: [
    "M5.5 1.5h5",
    "M6.5 1.5v4.3L2.9 12.4a1.4 1.4 0 0 0 1.2 2.1h7.8a1.4 1.4 0 0 0 1.2-2.1L9.5 5.8V1.5",
    "M4.6 9.5h6.8",
  ],
  lock: [
    "M4.5 7.5h7a1 1 0 0 1 1 1v5a1 1 0 0 1-1 1h-7a1 1 0 0 1-1-1v-5a1 1 0 0 1 1-1z",
    "M5.5 7.5V5a2.5 2.5 0 0 1 5 0v2.5",
  ],
  "chevron-right": ["M6 3.5L10.5 8 6 12.5"],
};

interface IconProps {
  name: IconName;
  className?: string;
}

/** Decorative only: every icon sits beside words that carry its meaning. */
export function Icon({ name, className = "size-3.5" }: IconProps) {
  return (
    <svg
      className={`shrink-0 ${className}`}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.5"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      {PATHS[name].map((d) => (
        <path key={d} d={d} />
      ))}
    </svg>
  );
}
