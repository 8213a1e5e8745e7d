//! `vigia sbom` against a real OCI registry on 127.0.0.1, with `debian12-app`
//! pushed by a real client: anonymous, basic auth by flag and environment, and
//! credentials from a docker config file.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn vigia(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigia"));
    c.args(args)
        .env("VIGIA_HOME", home.path())
        .env_remove("VIGIA_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", home.path().join("no-docker"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

fn packages(out: &Output) -> Value {
    vigia_test_support::assert_success(out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["packages"].clone()
}

fn local() -> Value {
    let layout = vigia_test_support::shared_dir().join("targets/debian12-app");
    packages(&vigia(
        &["sbom", layout.to_str().unwrap(), "--format", "json"],
        &[],
    ))
}

#[test]
fn anonymous_pull_gives_the_same_inventory_as_the_layout() {
    let reg = vigia_test_support::Registry::start(None);
    let layout = vigia_test_support::shared_dir().join("targets/debian12-app");
    reg.push(
        &layout,
        "vigia/debian12-app:latest",
        "vigia/debian12-app:latest",
        None,
    );
    let reference = format!("{}/vigia/debian12-app:latest", reg.host);
    let out = vigia(&["sbom", &reference, "--insecure", "--format", "json"], &[]);
    let pulled = packages(&out);
    assert_eq!(pulled, local());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["target"], reference);
    assert!(
        doc["image"]["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // By digest too.
    let digest = doc["image"]["manifest_digest"].as_str().unwrap();
    let by_digest = format!("{}/vigia/debian12-app@{digest}", reg.host);
    assert_eq!(
        packages(&vigia(
            &["sbom", &by_digest, "--insecure", "--format", "json"],
            &[]
        )),
        pulled
    );
    // A missing tag is an error naming it.
    let out = vigia(
        &[
            "sbom",
            &format!("{}/vigia/debian12-app:nope", reg.host),
            "--insecure",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("debian12-app:nope"));
}

#[test]
fn authenticated_pull_by_flag_env_and_docker_config() {
    let reg = vigia_test_support::Registry::start(Some(("vigia", "s3cret-pass")));
    let layout = vigia_test_support::shared_dir().join("targets/debian12-app");
    reg.push(
        &layout,
        "vigia/debian12-app:latest",
        "private/app:1",
        Some(("vigia", "s3cret-pass")),
    );
    let reference = format!("{}/private/app:1", reg.host);
    // No credentials: refused, with a hint.
    let out = vigia(&["sbom", &reference, "--insecure"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused access") || err.contains("401"),
        "{err}"
    );
    // Wrong password: refused too.
    let out = vigia(
        &["sbom", &reference, "--insecure", "--username", "vigia"],
        &[("VIGIA_REGISTRY_PASSWORD", "wrong")],
    );
    assert_eq!(out.status.code(), Some(1));
    // Right password from the environment.
    let expected = local();
    let out = vigia(
        &[
            "sbom",
            &reference,
            "--insecure",
            "--username",
            "vigia",
            "--format",
            "json",
        ],
        &[("VIGIA_REGISTRY_PASSWORD", "s3cret-pass")],
    );
    assert_eq!(packages(&out), expected);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("s3cret-pass"),
        "the password is never printed"
    );
    // From a docker config file.
    let docker = tempfile::tempdir().unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"vigia:s3cret-pass",
    );
    fs_err::write(
        docker.path().join("config.json"),
        format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let out = vigia(
        &["sbom", &reference, "--insecure", "--format", "json"],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    assert_eq!(packages(&out), expected);
    // From a credential helper, as `docker login` leaves them with a
    // `credsStore` (the OS keychain) or a per-registry `credHelpers` entry: a
    // `docker-credential-NAME` program on PATH answers `get` with the
    // registry on stdin.
    let helpers = tempfile::tempdir().unwrap();
    let helper = helpers.path().join("docker-credential-vigia-test");
    fs_err::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{}\" ] || {{ echo \"credentials not found in native keychain\"; exit 1; }}\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"vigia\",\"Secret\":\"s3cret-pass\"}}'\n",
            reg.host
        ),
    )
    .unwrap();
    fs_err::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        helpers.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for config in [
        r#"{"credsStore": "vigia-test"}"#.to_owned(),
        format!(r#"{{"credHelpers": {{"{}": "vigia-test"}}}}"#, reg.host),
    ] {
        fs_err::write(docker.path().join("config.json"), &config).unwrap();
        let out = vigia(
            &["sbom", &reference, "--insecure", "--format", "json"],
            &[
                ("DOCKER_CONFIG", docker.path().to_str().unwrap()),
                ("PATH", &path),
            ],
        );
        assert_eq!(packages(&out), expected, "{config}");
    }
    // A helper that has nothing for the registry: anonymous access, refused,
    // and the error names the registry.
    fs_err::write(
        docker.path().join("config.json"),
        r#"{"credHelpers": {"elsewhere.example": "vigia-test"}, "credsStore": "vigia-test-missing"}"#,
    )
    .unwrap();
    let out = vigia(
        &["sbom", &reference, "--insecure"],
        &[
            ("DOCKER_CONFIG", docker.path().to_str().unwrap()),
            ("PATH", &path),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&reg.host));
}

#[test]
fn bearer_token_auth_like_docker_hub() {
    let reg = vigia_test_support::Registry::start_with_token_auth(("robot", "t0ken-s3cret"));
    let layout = vigia_test_support::shared_dir().join("targets/debian12-app");
    reg.push(
        &layout,
        "vigia/debian12-app:latest",
        "team/app:1.0",
        Some(("robot", "t0ken-s3cret")),
    );
    let reference = format!("{}/team/app:1.0", reg.host);
    // The registry answers 401 with a Bearer challenge; Vigia gets a token from
    // the realm with the user's credentials and pulls with it.
    let out = vigia(
        &[
            "sbom",
            &reference,
            "--insecure",
            "--username",
            "robot",
            "--format",
            "json",
        ],
        &[("VIGIA_REGISTRY_PASSWORD", "t0ken-s3cret")],
    );
    assert_eq!(packages(&out), local());
    // Without credentials the token server refuses, and the error says so.
    let out = vigia(&["sbom", &reference, "--insecure"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("401") || err.contains("unauthorized") || err.contains("auth"),
        "{err}"
    );
    // The password is never echoed.
    let out = vigia(
        &["sbom", &reference, "--insecure", "--username", "robot"],
        &[("VIGIA_REGISTRY_PASSWORD", "wrong-pass")],
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-pass"));
}
