//! Signed reports, checked with the real `ssh-keygen` in both directions: what `scan
//! --sign-key` writes verifies with `ssh-keygen -Y verify`, and what `ssh-keygen -Y sign`
//! writes verifies with `modelspec verify --key`. Then each way a signature fails, each with
//! its own message, the key files modelspec refuses, and that the private key never shows in
//! anything printed.
//!
//! Scans are the demo's (compiled in, exit 0): the report is real, its content does not matter.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

use crate::support::{Dir, Run};

/// `ssh-keygen ARGS` in `dir`, stdin from `input` (or closed).
fn ssh_keygen(dir: &Path, args: &[&str], input: Option<&Path>) -> Output {
    let stdin = match input {
        Some(path) => Stdio::from(std::fs::File::open(path).expect("open stdin file")),
        None => Stdio::null(),
    };
    Command::new("ssh-keygen")
        .args(args)
        .current_dir(dir)
        .stdin(stdin)
        .output()
        .expect("ssh-keygen runs (apt package openssh-client; .ci/run installs it)")
}

/// A new ed25519 key pair `NAME` and `NAME.pub` in `dir`, with `passphrase`.
fn keygen(dir: &Dir, name: &str, passphrase: &str) {
    let o = ssh_keygen(
        dir.path(),
        &["-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", name],
        None,
    );
    assert!(o.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&o.stderr));
}

/// The base64 lines of the private key `name`: what must never be printed.
fn secret_lines(dir: &Dir, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.file(name))
        .expect("private key")
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .map(String::from)
        .collect()
}

/// Asserts that no line of the private key appears in what `run` printed.
fn assert_no_secret(run: &Run, secret: &[String]) {
    let printed = run.text();
    for line in secret {
        assert!(
            !printed.contains(line.as_str()),
            "private key material printed:\n{printed}"
        );
    }
}

/// `modelspec scan --demo -q ARGS` in `dir`.
fn scan(dir: &Dir, args: &[&str]) -> Run {
    dir.command().args(["scan", "--demo", "-q"]).args(args).run()
}

/// `modelspec verify ARGS` in `dir`.
fn verify(dir: &Dir, args: &[&str]) -> Run {
    dir.command().arg("verify").args(args).run()
}

/// The key's fingerprint as `ssh-keygen -l` prints it.
fn fingerprint(dir: &Dir, public: &str) -> String {
    let o = ssh_keygen(dir.path(), &["-l", "-E", "sha256", "-f", public], None);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint in {text:?}"))
        .to_string()
}

/// An allowed_signers file trusting `public` for `principal`.
fn allowed_signers(dir: &Dir, principal: &str, public: &str) {
    let key = std::fs::read_to_string(dir.file(public)).expect("public key");
    dir.write(
        "allowed_signers",
        &format!("# reviewers\n{principal} namespaces=\"git,modelspec\" {key}"),
    );
}

#[test]
fn scan_signs_and_ssh_keygen_verifies_until_a_byte_changes() {
    let dir = Dir::new();
    keygen(&dir, "key", "");
    let secret = secret_lines(&dir, "key");
    let o = scan(&dir, &["-o", "json=r.json", "-o", "prom=r.prom", "--sign-key", "key"]);
    assert_eq!(o.code(), Some(0), "{}", o.text());
    assert_no_secret(&o, &secret);
    let signature = std::fs::read_to_string(dir.file("r.json.sig")).expect("r.json.sig written");
    assert!(signature.starts_with("-----BEGIN SSH SIGNATURE-----\n"), "{signature}");
    assert!(dir.file("r.prom.sig").is_file(), "every -o file is signed");

    allowed_signers(&dir, "auditor@example.com", "key.pub");
    let check = |file: &str| {
        ssh_keygen(
            dir.path(),
            &[
                "-Y",
                "verify",
                "-f",
                "allowed_signers",
                "-I",
                "auditor@example.com",
                "-n",
                "modelspec",
                "-s",
                &format!("{file}.sig"),
            ],
            Some(&dir.file(file)),
        )
    };
    for file in ["r.json", "r.prom"] {
        let o = check(file);
        assert!(
            o.status.success(),
            "ssh-keygen -Y verify {file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(String::from_utf8_lossy(&check("r.json").stdout).contains(&fingerprint(&dir, "key.pub")));

    let mut bytes = std::fs::read(dir.file("r.json")).expect("report");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(dir.file("r.json"), &bytes).expect("tamper");
    assert!(
        !check("r.json").status.success(),
        "one byte flipped: ssh-keygen refuses"
    );
}

#[test]
fn what_ssh_keygen_signs_modelspec_verifies_with_a_pub_or_allowed_signers_file() {
    let dir = Dir::new();
    keygen(&dir, "key", "");
    let secret = secret_lines(&dir, "key");
    let o = scan(&dir, &["-o", "json=r.json"]);
    assert_eq!(o.code(), Some(0), "{}", o.text());
    assert!(!dir.file("r.json.sig").exists(), "no --sign-key, no signature");
    let o = ssh_keygen(
        dir.path(),
        &["-Y", "sign", "-f", "key", "-n", "modelspec", "r.json"],
        None,
    );
    assert!(
        o.status.success(),
        "ssh-keygen -Y sign: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    let expected = format!(
        "ok       signature r.json.sig: signed by {}, a trusted key",
        fingerprint(&dir, "key.pub")
    );
    allowed_signers(&dir, "auditor@example.com", "key.pub");
    for trusted in ["key.pub", "allowed_signers"] {
        let o = verify(&dir, &["r.json", "--key", trusted]);
        assert_eq!(o.code(), Some(0), "--key {trusted}: {}", o.text());
        assert!(o.stdout().starts_with(&expected), "{}", o.stdout());
        assert!(o.stdout().contains("the report holds"), "{}", o.stdout());
        assert_no_secret(&o, &secret);
    }
    // --signature names the file when it is not beside the report.
    std::fs::rename(dir.file("r.json.sig"), dir.file("elsewhere.sig")).expect("move");
    let o = verify(&dir, &["r.json", "--key", "key.pub", "--signature", "elsewhere.sig"]);
    assert_eq!(o.code(), Some(0), "{}", o.text());
}

#[test]
fn a_tampered_report_a_wrong_key_and_a_missing_signature_each_say_so() {
    let dir = Dir::new();
    keygen(&dir, "key", "");
    keygen(&dir, "other", "");
    let mut secret = secret_lines(&dir, "key");
    secret.extend(secret_lines(&dir, "other"));
    let o = scan(&dir, &["-o", "json=r.json", "--sign-key", "key"]);
    assert_eq!(o.code(), Some(0), "{}", o.text());
    let report = std::fs::read_to_string(dir.file("r.json")).expect("report");

    // Tampered: one byte of indentation, so the report still derives and only the signature
    // tells.
    let at = report.find("\n  ").expect("indented") + 1;
    let mut tampered = report.clone();
    tampered.replace_range(at..at + 1, "\t");
    std::fs::write(dir.file("r.json"), &tampered).expect("tamper");
    let o = verify(&dir, &["r.json", "--key", "key.pub"]);
    assert_eq!(o.code(), Some(1), "{}", o.text());
    let out = o.stdout();
    assert!(
        out.contains("DIFFERS  signature: r.json.sig: the signature by SHA256:"),
        "{out}"
    );
    assert!(out.contains("the report changed since it was signed"), "{out}");
    assert!(out.contains("the report does not hold (1 difference)"), "{out}");
    assert_no_secret(&o, &secret);
    std::fs::write(dir.file("r.json"), &report).expect("restore");
    assert_eq!(verify(&dir, &["r.json", "--key", "key.pub"]).code(), Some(0));

    // Signed by a key not trusted: its fingerprint, never its material.
    let o = verify(&dir, &["r.json", "--key", "other.pub", "--format", "json"]);
    assert_eq!(o.code(), Some(1), "{}", o.text());
    let result: Json = o.json();
    assert_eq!(result["holds"], false);
    let difference = &result["differences"][0];
    assert_eq!(difference["subject"], "signature", "{result:#}");
    let detail = difference["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!(
            "signed by {}, a key not among the trusted keys in other.pub",
            fingerprint(&dir, "key.pub")
        )),
        "{detail}"
    );
    assert_no_secret(&o, &secret);

    // Missing: the path where it was looked for.
    std::fs::remove_file(dir.file("r.json.sig")).expect("remove");
    let o = verify(&dir, &["r.json", "--key", "key.pub"]);
    assert_eq!(o.code(), Some(1), "{}", o.text());
    assert!(
        o.stdout()
            .contains("DIFFERS  signature: no signature: r.json.sig does not exist"),
        "{}",
        o.stdout()
    );

    // Malformed, and made for another namespace.
    dir.write("r.json.sig", "not a signature\n");
    let out = verify(&dir, &["r.json", "--key", "key.pub"]).stdout();
    assert!(out.contains("r.json.sig: not an SSH signature"), "{out}");
    std::fs::remove_file(dir.file("r.json.sig")).expect("remove");
    let o = ssh_keygen(dir.path(), &["-Y", "sign", "-f", "key", "-n", "git", "r.json"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = verify(&dir, &["r.json", "--key", "key.pub"]).stdout();
    assert!(
        out.contains("the signature is for namespace \"git\", not \"modelspec\""),
        "{out}"
    );

    // Trusted keys that cannot be read: nothing was checked, exit 2.
    let o = verify(&dir, &["r.json", "--key", "missing.pub"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(
        o.stderr().contains("missing.pub: cannot read the trusted keys"),
        "{}",
        o.stderr()
    );
    let o = verify(&dir, &["r.json", "--key", "r.json"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(o.stderr().contains("r.json:1: no public key"), "{}", o.stderr());
}

#[test]
fn keys_that_cannot_sign_unattended_are_refused_before_the_scan() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    keygen(&dir, "key", "");
    keygen(&dir, "locked", "correct horse battery staple");
    let secret = secret_lines(&dir, "key");

    std::fs::set_permissions(dir.file("key"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = scan(&dir, &["-o", "json=r.json", "--sign-key", "key"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(
        o.stderr().contains("key: the signing key is mode 0644") && o.stderr().contains("chmod 600 key"),
        "{}",
        o.stderr()
    );
    assert!(!dir.file("r.json").exists(), "refused before any report is written");
    assert_no_secret(&o, &secret);
    std::fs::set_permissions(dir.file("key"), std::fs::Permissions::from_mode(0o600)).expect("chmod");

    let o = scan(&dir, &["-o", "json=r.json", "--sign-key", "locked"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(
        o.stderr()
            .contains("locked: the signing key is protected by a passphrase")
            && o.stderr().contains("signs unattended"),
        "{}",
        o.stderr()
    );
    assert!(!dir.file("r.json").exists());

    let o = scan(&dir, &["-o", "json=r.json", "--sign-key", "key.pub"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(
        o.stderr().contains("a public key; --sign-key takes the private key"),
        "{}",
        o.stderr()
    );

    let o = scan(&dir, &["--sign-key", "key"]);
    assert_eq!(o.code(), Some(2), "{}", o.text());
    assert!(o.stderr().contains("add -o json=PATH"), "{}", o.stderr());
    assert!(o.stdout().is_empty(), "a usage error prints no report");

    let o = verify(&dir, &["r.json", "--signature", "r.json.sig"]);
    assert_eq!(o.code(), Some(2), "--signature needs --key: {}", o.text());
}
