//! Which gateway serves a user: their own (`"User"."openclawUrl"`, when allowed) or the shared one.

use std::borrow::Cow;

use url::Url;

use super::{GatewayAllowlist, GatewayError};
use crate::auth::Principal;
use crate::config::parse_gateway_url;
use crate::store::SessionStore;

/// The gateway to call for `principal`.
///
/// - No store configured, or a principal without a user id: the default gateway.
/// - The user's `openclawUrl` is null or empty: the default gateway.
/// - Set and matching `allowlist`: that URL. Set but unparsable or not allowed:
///   [`GatewayError::NotAllowed`], so the shared token never goes to it.
/// - The lookup fails: [`GatewayError::LookupFailed`], never silently the shared gateway.
pub async fn resolve_gateway<'a>(
    default: &'a Url,
    store: Option<&SessionStore>,
    allowlist: &GatewayAllowlist,
    principal: &Principal,
) -> Result<Cow<'a, Url>, GatewayError> {
    let (Some(store), Some(user_id)) = (store, principal.user_id.as_deref()) else {
        return Ok(Cow::Borrowed(default));
    };
    // Boxed: the lookup's future is large, and without the box every request's handler future
    // (held for the whole gateway wait) would carry its size even when no store is configured.
    let raw = match Box::pin(store.gateway_url_for(user_id)).await {
        Ok(Some(raw)) => raw,
        Ok(None) => return Ok(Cow::Borrowed(default)),
        Err(err) => return Err(GatewayError::LookupFailed(err.to_string())),
    };
    check_user_gateway(raw.trim(), allowlist)
        .map(Cow::Owned)
        .map_err(|(host, reason)| GatewayError::NotAllowed {
            user_id: user_id.to_owned(),
            host,
            reason,
        })
}

/// Parse a stored `openclawUrl` and check it against the allow-list. The error carries the
/// host (when one could be parsed) and why, for the log.
pub fn check_user_gateway(
    raw: &str,
    allowlist: &GatewayAllowlist,
) -> Result<Url, (Option<String>, &'static str)> {
    let url = match parse_gateway_url(raw) {
        Ok(url) => url,
        Err(_) => {
            let host = Url::parse(raw)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            return Err((host, "not a usable gateway URL"));
        }
    };
    if allowlist.allows(&url) {
        Ok(url)
    } else {
        let host = url.host_str().map(str::to_owned);
        Err((host, "not on GATEWAY_URL_ALLOWLIST"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_urls_are_parsed_then_checked() {
        let list = GatewayAllowlist::parse("https://*.agents.example.com").unwrap();
        assert!(check_user_gateway("https://u1.agents.example.com/", &list).is_ok());
        assert_eq!(
            check_user_gateway("https://evil.com", &list).unwrap_err(),
            (Some("evil.com".into()), "not on GATEWAY_URL_ALLOWLIST")
        );
        // Credentials, queries and non-http schemes are refused before the allow-list.
        for bad in [
            "https://u:p@u1.agents.example.com",
            "https://u1.agents.example.com/?x=1",
            "ftp://u1.agents.example.com",
            "not a url",
        ] {
            let (_, reason) = check_user_gateway(bad, &list).unwrap_err();
            assert_eq!(reason, "not a usable gateway URL", "{bad}");
        }
        let empty = GatewayAllowlist::default();
        assert!(check_user_gateway("https://u1.agents.example.com", &empty).is_err());
    }
}
