//! Web origins allowed to call the agent: parsing and normalisation.
//!
//! The API compares a request's `Origin` header with the allow-list exactly (DESIGN §6), so the
//! list must hold origins exactly as browsers serialise them: lowercase scheme and host, no
//! default port, nothing after the authority.

/// Why an allowed origin is refused. [`OriginError::hint`] says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("origin `null` is never allowed")]
    Null,
    #[error("origin `{origin}` has a wildcard; only exact origins are allowed")]
    Wildcard { origin: String },
    #[error("origin `{origin}` has no scheme")]
    MissingScheme { origin: String },
    #[error("origin `{origin}` uses scheme `{scheme}`; only http and https are allowed")]
    BadScheme { origin: String, scheme: String },
    #[error("origin `{origin}` has a path, query or fragment; an origin is only scheme://host[:port]")]
    HasPath { origin: String, suggestion: String },
    #[error("origin `{origin}` has a user name; an origin is only scheme://host[:port]")]
    HasUserInfo { origin: String, suggestion: String },
    #[error("origin `{origin}` has no host")]
    MissingHost { origin: String },
    #[error("origin `{origin}` has an invalid host `{host}`")]
    BadHost { origin: String, host: String },
    #[error("origin `{origin}` has a non-ASCII host")]
    NonAsciiHost { origin: String },
    #[error("origin `{origin}` has an invalid port `{port}`")]
    BadPort { origin: String, port: String },
}

impl OriginError {
    pub fn hint(&self) -> String {
        match self {
            OriginError::Null => {
                "`null` is what sandboxed frames and local files send; any page can forge it".to_string()
            }
            OriginError::Wildcard { .. } => {
                "list each web app's origin, e.g. https://motcua.example.gov.vn".to_string()
            }
            OriginError::MissingScheme { origin } => format!("write https://{origin}"),
            OriginError::BadScheme { .. } => {
                "write the web app's address as the browser shows it, e.g. https://motcua.example.gov.vn".to_string()
            }
            OriginError::HasPath { suggestion, .. } | OriginError::HasUserInfo { suggestion, .. } => {
                format!("write `{suggestion}`")
            }
            OriginError::MissingHost { .. } | OriginError::BadHost { .. } => {
                "a host is a name such as motcua.example.gov.vn or an IP address".to_string()
            }
            OriginError::NonAsciiHost { .. } => {
                "write the host in punycode (xn--…), as the browser sends it in the Origin header".to_string()
            }
            OriginError::BadPort { .. } => "a port is a number from 1 to 65535".to_string(),
        }
    }
}

/// Parses an origin and returns it as browsers serialise it: `HTTPS://Example.vn:443` becomes
/// `https://example.vn`.
pub fn normalize_origin(text: &str) -> Result<String, OriginError> {
    let origin = text.trim();
    if origin.eq_ignore_ascii_case("null") {
        return Err(OriginError::Null);
    }
    if origin.contains('*') {
        return Err(OriginError::Wildcard { origin: origin.to_string() });
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(OriginError::MissingScheme { origin: origin.to_string() });
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(OriginError::BadScheme { origin: origin.to_string(), scheme }),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user_info, host_port) = match authority.rsplit_once('@') {
        Some((user_info, host_port)) => (Some(user_info), host_port),
        None => (None, authority),
    };
    let (host, port) = split_host_port(origin, host_port)?;
    let port = match port {
        None | Some("") => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => return Err(OriginError::BadPort { origin: origin.to_string(), port: port.to_string() }),
            Ok(port) if port == default_port => None,
            Ok(port) => Some(port),
        },
    };
    let normalized = match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    if !tail.is_empty() {
        return Err(OriginError::HasPath { origin: origin.to_string(), suggestion: normalized });
    }
    if user_info.is_some() {
        return Err(OriginError::HasUserInfo { origin: origin.to_string(), suggestion: normalized });
    }
    Ok(normalized)
}

/// Splits `host[:port]` or `[v6]:port` and checks the host's characters; the host comes back
/// lowercased.
fn split_host_port<'t>(origin: &str, host_port: &'t str) -> Result<(String, Option<&'t str>), OriginError> {
    let (host, port) = if let Some(rest) = host_port.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return Err(OriginError::BadHost { origin: origin.to_string(), host: host_port.to_string() });
        };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(OriginError::BadHost { origin: origin.to_string(), host: host_port.to_string() });
        }
        let port = match after {
            "" => None,
            after => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(OriginError::BadPort { origin: origin.to_string(), port: after.to_string() }),
            },
        };
        (format!("[{}]", address.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err(OriginError::MissingHost { origin: origin.to_string() });
        }
        if !host.is_ascii() {
            return Err(OriginError::NonAsciiHost { origin: origin.to_string() });
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        if !host.chars().all(valid) {
            return Err(OriginError::BadHost { origin: origin.to_string(), host: host.to_string() });
        }
        (host.to_ascii_lowercase(), port)
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let actual = normalize_origin(input).map_err(|error| format!("{error} — {}", error.hint()));
        match expected {
            Ok(origin) => assert_eq!(actual, Ok(origin.to_string()), "{input}"),
            Err(message) => assert_eq!(actual, Err(message.to_string()), "{input}"),
        }
    }

    #[test]
    fn normalises_origins() {
        check("https://motcua.example.gov.vn", Ok("https://motcua.example.gov.vn"));
        check("https://x:443", Ok("https://x"));
        check("http://x:80", Ok("http://x"));
        check("https://x:80", Ok("https://x:80"));
        check("http://x:443", Ok("http://x:443"));
        check("https://x:0443", Ok("https://x"));
        check("HTTPS://MotCua.Example.GOV.vn", Ok("https://motcua.example.gov.vn"));
        check("  https://x  ", Ok("https://x"));
        check("http://127.0.0.1:7420", Ok("http://127.0.0.1:7420"));
        check("https://[::1]:8443", Ok("https://[::1]:8443"));
        check("https://[::1]:443", Ok("https://[::1]"));
        check("https://xn--mtca-8na.vn", Ok("https://xn--mtca-8na.vn"));
        check("https://x:", Ok("https://x"));
    }

    #[test]
    fn refuses_what_is_not_an_exact_origin() {
        check("null", Err("origin `null` is never allowed — `null` is what sandboxed frames and local files send; any page can forge it"));
        check("NULL", Err("origin `null` is never allowed — `null` is what sandboxed frames and local files send; any page can forge it"));
        check("*", Err("origin `*` has a wildcard; only exact origins are allowed — list each web app's origin, e.g. https://motcua.example.gov.vn"));
        check("https://*.gov.vn", Err("origin `https://*.gov.vn` has a wildcard; only exact origins are allowed — list each web app's origin, e.g. https://motcua.example.gov.vn"));
        check("motcua.gov.vn", Err("origin `motcua.gov.vn` has no scheme — write https://motcua.gov.vn"));
        check("ftp://x", Err("origin `ftp://x` uses scheme `ftp`; only http and https are allowed — write the web app's address as the browser shows it, e.g. https://motcua.example.gov.vn"));
        check("https://x/", Err("origin `https://x/` has a path, query or fragment; an origin is only scheme://host[:port] — write `https://x`"));
        check("https://x:443/app?q=1", Err("origin `https://x:443/app?q=1` has a path, query or fragment; an origin is only scheme://host[:port] — write `https://x`"));
        check("https://x#top", Err("origin `https://x#top` has a path, query or fragment; an origin is only scheme://host[:port] — write `https://x`"));
        check(
            "https://user@x",
            Err("origin `https://user@x` has a user name; an origin is only scheme://host[:port] — write `https://x`"),
        );
        check(
            "https://",
            Err("origin `https://` has no host — a host is a name such as motcua.example.gov.vn or an IP address"),
        );
        check("https://a b", Err("origin `https://a b` has an invalid host `a b` — a host is a name such as motcua.example.gov.vn or an IP address"));
        check("https://[zz]", Err("origin `https://[zz]` has an invalid host `[zz]` — a host is a name such as motcua.example.gov.vn or an IP address"));
        check("https://mộtcửa.vn", Err("origin `https://mộtcửa.vn` has a non-ASCII host — write the host in punycode (xn--…), as the browser sends it in the Origin header"));
        check("https://x:0", Err("origin `https://x:0` has an invalid port `0` — a port is a number from 1 to 65535"));
        check(
            "https://x:99999",
            Err("origin `https://x:99999` has an invalid port `99999` — a port is a number from 1 to 65535"),
        );
        check(
            "https://x:1:2",
            Err("origin `https://x:1:2` has an invalid port `1:2` — a port is a number from 1 to 65535"),
        );
    }
}
