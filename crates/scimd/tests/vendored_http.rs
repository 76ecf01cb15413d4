//! The vendored `http` crate (vendor/http) is its upstream release plus exactly the diff in
//! vendor/http/SCIMD.patch, and the build uses it (see vendor/http/SCIMD-PATCH.md).
//!
//! The release comes from cargo's registry cache; when it is not cached (the patched build
//! never downloads it) it is fetched with `cargo fetch` through a scratch project that
//! depends on exactly that version. Its SHA-256 must match the one SCIMD-PATCH.md records.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vendored() -> PathBuf {
    root().join("vendor/http")
}

/// Files of the vendored copy that are scimd's, not upstream's.
const OURS: &[&str] = &["SCIMD-PATCH.md", "SCIMD.patch"];

/// A `- key: value` line of SCIMD-PATCH.md.
fn recorded(key: &str) -> String {
    let doc = fs::read_to_string(vendored().join("SCIMD-PATCH.md")).unwrap();
    doc.lines()
        .find_map(|l| l.strip_prefix(&format!("- {key}: ")))
        .unwrap_or_else(|| panic!("SCIMD-PATCH.md has no `- {key}: ` line"))
        .trim()
        .to_string()
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME")
}

/// `http-<version>.crate` in cargo's registry cache, if there.
fn cached_crate(version: &str) -> Option<PathBuf> {
    let cache = cargo_home().join("registry/cache");
    fs::read_dir(cache)
        .ok()?
        .flatten()
        .map(|d| d.path().join(format!("http-{version}.crate")))
        .find(|p| p.is_file())
}

/// The release's `.crate`: from the cache, else fetched by cargo into it.
fn release_crate(version: &str, scratch: &Path) -> PathBuf {
    if let Some(p) = cached_crate(version) {
        return p;
    }
    let project = scratch.join("fetch");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"http-release-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nhttp = \"={version}\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    fs::write(project.join("src/lib.rs"), "").unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_successfully(
        Command::new(cargo)
            .arg("fetch")
            .arg("--manifest-path")
            .arg(project.join("Cargo.toml")),
        &format!(
            "cargo fetch of http {version} failed (the check needs the release once, from the registry)"
        ),
    );
    cached_crate(version).expect("cargo fetch left no http .crate in the registry cache")
}

/// Runs `cmd` to completion; panics with `failure` and the command's stderr unless it exits
/// successfully.
fn run_successfully(cmd: &mut Command, failure: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{failure}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{failure}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir`, by path relative to it, with its bytes (`skip`: top-level names).
fn files(dir: &Path, skip: &[&str]) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.retain(|k, _| !skip.contains(&k.as_str()));
    out
}

#[test]
fn vendored_http_is_the_release_plus_the_documented_diff() {
    let version = recorded("upstream-version");
    let sha = recorded("upstream-sha256");
    // Outside the repository, so `git apply` below is not taken for a repository operation.
    let scratch = std::env::temp_dir().join(format!("scimd-vendored-http-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).unwrap();

    let krate = release_crate(&version, &scratch);
    let bytes = fs::read(&krate).unwrap();
    let digest = hex::encode(Sha256::digest(&bytes));
    assert_eq!(
        digest,
        sha,
        "{} is not the release SCIMD-PATCH.md names",
        krate.display()
    );

    run_successfully(
        Command::new("tar")
            .arg("-xzf")
            .arg(&krate)
            .arg("-C")
            .arg(&scratch),
        &format!("tar cannot unpack {}", krate.display()),
    );
    let pristine = scratch.join(format!("http-{version}"));
    run_successfully(
        Command::new("git")
            .arg("apply")
            .arg(vendored().join("SCIMD.patch"))
            .current_dir(&pristine)
            .env("GIT_CEILING_DIRECTORIES", &scratch),
        "SCIMD.patch does not apply to the release",
    );

    let want = files(&pristine, &[]);
    let have = files(&vendored(), OURS);
    let missing: Vec<&String> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    let extra: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<&String> = want
        .iter()
        .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "vendor/http is not http {version} plus SCIMD.patch: missing {missing:?}, not in the release {extra:?}, different {differ:?}"
    );
    let _ = fs::remove_dir_all(&scratch);
}

#[test]
fn the_build_uses_the_vendored_copy() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[patch.crates-io]")
            && manifest.contains("http = { path = \"vendor/http\" }"),
        "the root Cargo.toml must patch http with vendor/http"
    );
    // Cargo.lock: one `http` package, without a registry source (the path), same version.
    let lock = fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let entries: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.contains("\nname = \"http\"\n"))
        .collect();
    assert_eq!(entries.len(), 1, "Cargo.lock: {entries:?}");
    assert!(
        !entries[0].contains("source ="),
        "Cargo.lock takes http from a registry, not vendor/http: {}",
        entries[0]
    );
    let version = recorded("upstream-version");
    assert!(
        entries[0].contains(&format!("version = \"{version}\"")),
        "{}",
        entries[0]
    );
    // And the patched scanner is the one compiled in.
    let uri: http::Uri = "/scim/v2/Users?filter=userName+eq+\"someone%40example.uk\""
        .parse()
        .expect("a raw quote in the query parses");
    assert_eq!(
        uri.query(),
        Some("filter=userName+eq+\"someone%40example.uk\"")
    );
    assert!(
        "/x?a<b".parse::<http::Uri>().is_err(),
        "only `\"` was added"
    );
}
