import { SessionRedirect } from "../components/auth/SessionRedirect";

export default function IndexPage() {
  return <SessionRedirect />;
}
