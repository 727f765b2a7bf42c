import { SignInPage } from "../components/interfaces/SignIn/SignInPage";

export default function SignInRoute() {
  return <SignInPage />;
}
