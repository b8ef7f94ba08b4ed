//! STUB until the auth module lands.
use secrecy::SecretString;

pub fn encode_v4(
    secret: &SecretString,
    sub: Option<&str>,
    email: &str,
    name: Option<&str>,
    now_unix: i64,
    ttl_secs: i64,
) -> String {
    let _ = (secret, sub, email, name, now_unix, ttl_secs);
    String::new()
}
