//! Tests for [`PasswordHash`](super::PasswordHash): known vectors, refusals, round trip.

use super::*;
use std::time::Instant;

/// `openssl passwd -6 -salt saltsalt secret`
const OPENSSL_SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
/// `openssl passwd -5 -salt saltsalt secret`
const OPENSSL_SHA256: &str = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";
/// Ulrich Drepper's SHA-crypt specification, "Hello world!" with explicit rounds.
const SPEC_SHA512_ROUNDS: &str = "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.";
/// Same specification, SHA-256 variant.
const SPEC_SHA256_ROUNDS: &str =
    "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
/// jBCrypt's published test vector for password "abc" (cost 6).
const JBCRYPT_ABC: &str = "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i";

fn parse(s: &str) -> PasswordHash {
    PasswordHash::parse(s).unwrap()
}

#[test]
fn openssl_sha512() {
    let h = parse(OPENSSL_SHA512);
    assert_eq!(h.kind(), HashKind::Sha512Crypt);
    assert!(h.verify("secret"));
    assert!(!h.verify("Secret"));
    assert!(!h.verify("secret "));
    assert!(!h.verify(""));
}

#[test]
fn openssl_sha256() {
    let h = parse(OPENSSL_SHA256);
    assert_eq!(h.kind(), HashKind::Sha256Crypt);
    assert!(h.verify("secret"));
    assert!(!h.verify("secreT"));
}

#[test]
fn spec_vectors_with_rounds() {
    for s in [SPEC_SHA512_ROUNDS, SPEC_SHA256_ROUNDS] {
        let h = parse(s);
        assert!(h.verify("Hello world!"), "{s}");
        assert!(!h.verify("Hello world"), "{s}");
    }
}

#[test]
fn bcrypt_vector_and_prefixes() {
    for prefix in ["$2a$", "$2b$", "$2y$"] {
        let s = format!("{prefix}{}", &JBCRYPT_ABC[4..]);
        let h = parse(&s);
        assert_eq!(h.kind(), HashKind::Bcrypt);
        assert!(h.verify("abc"), "{s}");
        assert!(!h.verify("abd"), "{s}");
    }
    // A hash made by the crate itself with a fixed salt.
    let made = bcrypt::hash_with_salt("secret", 4, [7; 16])
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
    assert!(parse(&made).verify("secret"));
}

#[test]
fn hash_sha512_round_trip() {
    let text = hash_sha512("correct horse").unwrap();
    let h = parse(&text);
    assert_eq!(h.kind(), HashKind::Sha512Crypt);
    assert_eq!(h.as_str(), text);
    assert!(h.verify("correct horse"));
    assert!(!h.verify("correct horse battery"));
    // rounds=5000$, then a 16-character salt (what glibc keeps), then the hash.
    let fields: Vec<&str> = text.split('$').collect();
    assert_eq!(fields[..3], ["", "6", "rounds=5000"], "{text}");
    assert_eq!(fields[3].len(), 16, "{text}");
    assert_ne!(
        text,
        hash_sha512("correct horse").unwrap(),
        "salt must be random"
    );
}

#[test]
fn debug_hides_the_hash() {
    let shown = format!("{:?}", parse(OPENSSL_SHA512));
    assert!(!shown.contains("saltsalt"), "{shown}");
    assert!(
        shown.contains("Sha512Crypt") && shown.contains("redacted"),
        "{shown}"
    );
}

#[test]
fn plaintext_and_unknown_schemes_refused() {
    assert_eq!(PasswordHash::parse(""), Err(HashError::Empty));
    for plain in ["secret", "hunter2$", "6$abc$def", " $6$saltsalt$x", "$$"] {
        assert_eq!(
            PasswordHash::parse(plain),
            Err(HashError::NotAHash),
            "{plain}"
        );
    }
    let md5 = PasswordHash::parse("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/").unwrap_err();
    assert_eq!(md5, HashError::UnsupportedScheme("1".into()));
    assert!(md5.to_string().contains("MD5"), "{md5}");
    for (s, id) in [("$y$j9T$salt$hash", "y"), ("$2x$10$abc", "2x")] {
        assert_eq!(
            PasswordHash::parse(s),
            Err(HashError::UnsupportedScheme(id.into()))
        );
    }
    for err in [HashError::Empty, HashError::NotAHash, md5] {
        let text = err.to_string();
        assert!(text.contains("plaintext passwords are refused"), "{text}");
    }
    let text = HashError::NotAHash.to_string();
    assert!(text.contains("$6$") && text.contains("$2b$"), "{text}");
}

#[test]
fn errors_never_echo_the_input() {
    for secret in [
        "MyPassw0rd",
        "$MyPassw0rd$x",
        "$6$MyPassw0rd",
        "$2b$MyPassw0rd",
    ] {
        let text = PasswordHash::parse(secret).unwrap_err().to_string();
        assert!(!text.contains("MyPassw0rd"), "{text}");
    }
}

fn malformed(s: &str) -> bool {
    matches!(PasswordHash::parse(s), Err(HashError::Malformed { .. }))
}

#[test]
fn malformed_sha_refused() {
    let (salt, hash) = ("saltsalt", &OPENSSL_SHA512[12..]);
    assert!(
        malformed(&OPENSSL_SHA512[..OPENSSL_SHA512.len() - 1]),
        "truncated"
    );
    assert!(malformed(&format!("$6$${hash}")), "empty salt");
    assert!(malformed(&format!("$6$salt!salt${hash}")), "bad salt char");
    assert!(malformed(&format!("$6$rounds=x${salt}${hash}")));
    assert!(malformed(&format!("$6$rounds=+5000${salt}${hash}")));
    assert!(malformed(&format!("$6$round=5000${salt}${hash}")));
    assert!(malformed(&format!("$6${salt}${hash}$extra")));
    assert!(malformed(&format!("$6${salt}")));
    // 86 characters but a last character that cannot end a 64-byte hash.
    assert!(malformed(&format!("$6${salt}${}z", &hash[..85])));
    assert!(
        malformed(&format!("$5${salt}${hash}")),
        "$6$ length under $5$"
    );
}

#[test]
fn cost_limits() {
    let (salt, hash) = ("saltsalt", &OPENSSL_SHA512[12..]);
    for rounds in [999, 1_000_001, 99_999_999_999u64] {
        let err = PasswordHash::parse(&format!("$6$rounds={rounds}${salt}${hash}")).unwrap_err();
        assert!(matches!(err, HashError::Cost { .. }), "{rounds}: {err}");
    }
    assert!(PasswordHash::parse(&format!("$6$rounds=1000${salt}${hash}")).is_ok());
    let tail = &JBCRYPT_ABC[7..];
    for cost in ["03", "13", "31"] {
        let err = PasswordHash::parse(&format!("$2b${cost}${tail}")).unwrap_err();
        assert!(matches!(err, HashError::Cost { .. }), "{cost}: {err}");
        assert!(err.to_string().contains("4..=12"), "{err}");
    }
    assert!(malformed(&format!("$2b$6${tail}")));
    assert!(malformed(&format!("$2b$06${}", &tail[1..])));
    // Salt ending in a character with impossible trailing bits.
    let mut bad_salt = JBCRYPT_ABC.to_owned();
    bad_salt.replace_range(28..29, "v");
    assert!(malformed(&bad_salt), "{bad_salt}");
}

#[test]
fn cost_of_one_verification() {
    let h = parse(OPENSSL_SHA512);
    let start = Instant::now();
    assert!(h.verify("secret"));
    let build = if cfg!(debug_assertions) {
        "unoptimised"
    } else {
        "release"
    };
    eprintln!(
        "one $6$ verification (5000 rounds): {:?} ({build} build)",
        start.elapsed()
    );
}
