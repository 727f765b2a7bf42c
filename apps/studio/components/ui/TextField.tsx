import { type InputHTMLAttributes, type Ref, useId } from "react";

interface TextFieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "id"> {
  label: string;
  /** Shown under the field and read with it. */
  description?: string;
  ref?: Ref<HTMLInputElement>;
}

export function TextField({ label, description, className = "", ref, ...rest }: TextFieldProps) {
  const id = useId();
  const descriptionId = `${id}-description`;
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm text-foreground-light">
        {label}
      </label>
      <input
        ref={ref}
        id={id}
        aria-describedby={description ? descriptionId : undefined}
        className={`h-[34px] w-full rounded-md border border-border-strong bg-surface-200 px-3 text-sm text-foreground placeholder:text-foreground-lighter transition-colors hover:border-border-stronger focus:border-brand/70 focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-brand/40 aria-invalid:border-destructive ${className}`}
        {...rest}
      />
      {description ? (
        <p id={descriptionId} className="text-xs text-foreground-lighter">
          {description}
        </p>
      ) : null}
    </div>
  );
}
