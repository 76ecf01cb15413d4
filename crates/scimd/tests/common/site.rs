//! One portal of a running server as a browser without JavaScript sees it: the root portal
//! (prefix ""), a tenant's (`/t/SLUG`) or the operators' (`/operator`), each with its own
//! cookie names, spoken to with `reqwest` without following redirects.

use super::Server;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use std::time::Duration;

/// A response: status, `Location`, `Cache-Control`, the cookies set, the body.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub cache_control: String,
    pub set_cookies: Vec<String>,
    pub text: String,
}

impl Page {
    /// The value the response sets for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c[name.len() + 1..].split(';').next().unwrap().to_string())
    }

    /// The value of the first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        self.field("csrf")
    }

    /// The value of the first form field `name` of the page (`name="NAME" value="..."`).
    pub fn field(&self, name: &str) -> String {
        let what = format!("{name} field");
        self.text_between(&format!("name=\"{name}\" value=\""), "\"", &what)
    }

    /// The text of `<code id="ID">` (HTML entities of `/` undone).
    pub fn code(&self, id: &str) -> String {
        self.text_between(&format!("<code id=\"{id}\">"), "</code>", id)
    }

    /// The text after the first `open` of the page up to the next `close`, with the HTML
    /// entities of `/` undone; panics naming `what` when the page has no `open`.
    fn text_between(&self, open: &str, close: &str, what: &str) -> String {
        let at = self
            .text
            .find(open)
            .unwrap_or_else(|| panic!("no {what} in: {}", self.text));
        let rest = &self.text[at + open.len()..];
        rest[..rest.find(close).unwrap()]
            .replace("&#x2f;", "/")
            .replace("&#47;", "/")
    }
}

/// One portal of a server.
pub struct Site {
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    /// `""`, `/t/SLUG` or `/operator`.
    pub prefix: String,
    /// What the portal's cookie names end with: `""`, `_SLUG` or `_operator`.
    pub suffix: String,
    /// Whether the cookie names start with `__Host-` (a public URL that is HTTPS).
    pub host: bool,
    pub http: reqwest::Client,
}

impl Site {
    /// The portal under `prefix` whose cookie names end with `suffix`.
    pub fn at(s: &Server, prefix: &str, suffix: &str) -> Site {
        Site {
            origin: s.base.clone(),
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            host: false,
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    /// The root tenant's portal, at `/`.
    pub fn root(s: &Server) -> Site {
        Site::at(s, "", "")
    }

    /// Tenant `slug`'s portal, at `/t/SLUG/`.
    pub fn tenant(s: &Server, slug: &str) -> Site {
        Site::at(s, &format!("/t/{slug}"), &format!("_{slug}"))
    }

    /// The operator portal, at `/operator/`.
    pub fn operator(s: &Server) -> Site {
        Site::at(s, "/operator", "_operator")
    }

    /// The name of the portal's cookie `base` (`scimd_session`, `scimd_signin` ...).
    pub fn cookie_name(&self, base: &str) -> String {
        let host = if self.host { "__Host-" } else { "" };
        format!("{host}{base}{}", self.suffix)
    }

    /// Sends `rb` with the `Cookie` header `cookies` ("" for none).
    pub async fn send(&self, rb: reqwest::RequestBuilder, cookies: &str) -> Page {
        let rb = if cookies.is_empty() {
            rb
        } else {
            rb.header("cookie", cookies)
        };
        let r = rb.send().await.unwrap();
        let header = |n: &str| {
            r.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (location, cache_control) = (header("location"), header("cache-control"));
        let set_cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        Page {
            status: r.status(),
            location,
            cache_control,
            set_cookies,
            text: r.text().await.unwrap(),
        }
    }

    /// `GET <prefix><path>` with the `Cookie` header `cookies` ("" for none).
    pub async fn get(&self, path: &str, cookies: &str) -> Page {
        let url = format!("{}{}{path}", self.origin, self.prefix);
        self.send(self.http.get(url), cookies).await
    }

    /// `GET <prefix><path>` with the `Cookie` header `cookies`, asserting a 303 See Other:
    /// where it sends the browser.
    pub async fn redirect(&self, path: &str, cookies: &str) -> String {
        let r = self.get(path, cookies).await;
        let at = format!("{}{path}", self.prefix);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "GET {at}: {}", r.text);
        r.location
    }

    /// `POST <prefix><path>` of the form `fields` with the `Cookie` header `cookies`.
    pub async fn post(&self, path: &str, cookies: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{}{path}", self.origin, self.prefix);
        self.send(self.http.post(url).form(fields), cookies).await
    }

    /// The `Cookie` header of the session `id` on this portal.
    pub fn session(&self, id: &str) -> String {
        format!("{}={id}", self.cookie_name("scimd_session"))
    }

    /// Submits the sign-in form of this portal (its double-submit token from the form).
    pub async fn attempt(&self, username: &str, password: &str) -> Page {
        let form = self.get("/signin", "").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text);
        let name = self.cookie_name("scimd_signin");
        let token = form
            .cookie(&name)
            .unwrap_or_else(|| panic!("the sign-in form sets {name}: {:?}", form.set_cookies));
        assert_eq!(form.csrf(), token);
        self.post(
            "/signin",
            &format!("{name}={token}"),
            &[
                ("csrf", &token),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}
