//! The portal's sign-in over HTTP for tests: the sign-in form's double-submit cookie, the
//! POST, and the cookies it sets. No cookie jar: each call says which cookies it sends.

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use std::time::Duration;

/// A client of one server's portal (no redirects followed).
#[derive(Clone)]
pub struct Portal {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// What a sign-in POST came to: its status (303 signed in, 401 wrong, 429 throttled, 503
/// busy), headers and page.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Attempt {
    /// `Retry-After` in seconds, when sent.
    pub fn retry_after(&self) -> Option<u64> {
        let v = self.headers.get("retry-after")?;
        v.to_str().ok()?.parse().ok()
    }

    /// The trusted-browser cookie set (when signed in).
    pub fn device(&self) -> Option<String> {
        set_cookie(&self.headers, "scimd_device")
    }

    /// The session cookie set (when signed in).
    pub fn session(&self) -> Option<String> {
        set_cookie(&self.headers, "scimd_session")
    }

    /// `Location` ("" when none).
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// The value of cookie `name` that a response sets.
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            v[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        })
}

impl Portal {
    /// The portal of the server at `base`.
    pub fn new(base: &str) -> Portal {
        Portal {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    /// The sign-in form's CSRF token (also its cookie's value).
    pub async fn form_token(&self) -> String {
        let r = self
            .http
            .get(format!("{}/signin", self.base))
            .send()
            .await
            .unwrap();
        set_cookie(r.headers(), "scimd_signin").expect("the sign-in form sets its CSRF cookie")
    }

    /// Submits the sign-in form with `username` and `password`, sending the device cookie
    /// `device` when given and `headers` besides.
    pub async fn attempt_with(
        &self,
        username: &str,
        password: &str,
        device: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Attempt {
        let token = self.form_token().await;
        let mut cookie = format!("scimd_signin={token}");
        if let Some(d) = device {
            cookie.push_str(&format!("; scimd_device={d}"));
        }
        let mut rb = self
            .http
            .post(format!("{}/signin", self.base))
            .header("cookie", cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("username", username),
                ("password", password),
            ]);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        Attempt {
            status,
            headers,
            text: r.text().await.unwrap_or_default(),
        }
    }

    /// [`Portal::attempt_with`] without extra headers.
    pub async fn attempt(&self, username: &str, password: &str, device: Option<&str>) -> Attempt {
        self.attempt_with(username, password, device, &[]).await
    }
}
