import { HomePage } from "../components/interfaces/Home/HomePage";

export default function IndexRoute() {
  return <HomePage />;
}
