/** The Docker page's form (`/docker-convert`) as the JSON body of its action. */
import { must } from "./dom";

interface DockerRequest {
  image: string;
  platform?: string;
  startupToml?: true;
  username?: string;
  password?: string;
  token?: string;
}

export function dockerRequest(form: HTMLFormElement): DockerRequest {
  const payload: DockerRequest = { image: must<HTMLInputElement>("#image", form).value.trim() };
  const platform = must<HTMLSelectElement>("#platform", form).value;
  if (platform) payload.platform = platform;
  if (must<HTMLInputElement>("#startup-toml", form).checked) payload.startupToml = true;
  const username = must<HTMLInputElement>("#username", form).value.trim();
  const password = must<HTMLInputElement>("#password", form).value;
  // A password with a username is basic auth (also how registries take personal access tokens); a token alone is
  // a registry bearer token.
  if (username) {
    payload.username = username;
    if (password) payload.password = password;
  } else if (password) payload.token = password;
  return payload;
}
