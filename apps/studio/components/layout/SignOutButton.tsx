import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/router";
import { useState } from "react";
import { SIGN_IN_PATH } from "../../utils/trpc";
import { signOut } from "../auth/session";
import { Button } from "../ui/Button";
import { Icon } from "../ui/Icon";

export function SignOutButton() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const [signingOut, setSigningOut] = useState(false);

  const onClick = async () => {
    setSigningOut(true);
    try {
      await signOut();
    } finally {
      // Whatever the server said, nothing of this session stays in the page.
      queryClient.clear();
      await router.replace(SIGN_IN_PATH);
    }
  };

  return (
    <Button
      variant="ghost"
      icon={<Icon name="log-out" />}
      loading={signingOut}
      onClick={onClick}
      data-testid="sign-out"
    >
      <span className="max-sm:sr-only">{signingOut ? "Signing out…" : "Sign out"}</span>
    </Button>
  );
}
