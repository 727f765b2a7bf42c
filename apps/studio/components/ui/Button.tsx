import type { ButtonHTMLAttributes, ReactNode } from "react";
import { Spinner } from "./Spinner";

export type ButtonVariant = "primary" | "default" | "danger" | "warning" | "ghost";

const VARIANTS: Record<ButtonVariant, string> = {
  primary:
    "border-brand/50 bg-brand-button text-white hover:bg-brand-button-hover hover:border-brand/80",
  default:
    "border-border-strong bg-surface-300 text-foreground hover:border-border-stronger hover:bg-[#323232]",
  danger:
    "border-destructive/50 bg-destructive-solid text-white hover:bg-destructive-solid-hover hover:border-destructive/80",
  warning:
    "border-warning/50 bg-warning-subtle text-warning hover:border-warning/80 hover:bg-[#3a2b0c]",
  ghost:
    "border-transparent bg-transparent text-foreground-light hover:bg-surface-300 hover:text-foreground",
};

interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: ButtonVariant;
  size?: "tiny" | "small";
  /** Shows a spinner and disables the button; the label should say what is happening. */
  loading?: boolean;
  icon?: ReactNode;
}

/** A real `<button>` (type="button" unless told otherwise), in Supabase Studio's compact style. */
export function Button({
  variant = "default",
  size = "tiny",
  loading = false,
  icon,
  className = "",
  disabled,
  type = "button",
  children,
  ...rest
}: ButtonProps) {
  const sizing =
    size === "tiny" ? "h-[26px] px-2.5 text-xs gap-1.5" : "h-[34px] px-4 text-sm gap-2";
  return (
    <button
      type={type}
      disabled={disabled === true || loading}
      aria-busy={loading || undefined}
      className={`inline-flex shrink-0 items-center justify-center whitespace-nowrap rounded-md border font-medium transition-colors duration-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand disabled:cursor-not-allowed disabled:opacity-50 ${sizing} ${VARIANTS[variant]} ${className}`}
      {...rest}
    >
      {loading ? <Spinner /> : icon}
      {children}
    </button>
  );
}
