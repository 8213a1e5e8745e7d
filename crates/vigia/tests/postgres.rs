//! The same database on a real PostgreSQL server: `db update`, `db status`,
//! `db show` and `db match` through `--database-url`.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn vigia(data: &std::path::Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(data)
        .args(["--database-url", url])
        .args(args)
        .env_remove("VIGIA_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    vigia_test_support::assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_database_runs_on_postgresql() {
    let pg = vigia_test_support::Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::vulndata();
    let report = json(&vigia(
        data.path(),
        &pg.url(),
        &[
            "db",
            "update",
            "--mirror",
            mirror.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(
        !data.path().join("vigia.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );

    let st = json(&vigia(
        data.path(),
        &pg.url(),
        &["db", "status", "--format", "json"],
    ));
    let manifest = vigia_test_support::manifest();
    for f in manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("ecosystem").is_some())
    {
        let s = st["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == f["path"])
            .unwrap();
        assert_eq!(
            (&s["records"], &s["withdrawn"]),
            (&f["records"], &f["withdrawn"]),
            "{}",
            f["path"]
        );
    }
    assert_eq!(st["kev_entries"], 1404);

    // A second run changes nothing; the same alias groups and matches as on SQLite.
    let again = json(&vigia(
        data.path(),
        &pg.url(),
        &[
            "db",
            "update",
            "--mirror",
            mirror.to_str().unwrap(),
            "--format",
            "json",
        ],
    ));
    assert_eq!(again["updated"], 0);
    let v = json(&vigia(
        data.path(),
        &pg.url(),
        &["db", "show", "PYSEC-2023-62", "--format", "json"],
    ));
    assert_eq!(v["id"], "CVE-2023-30861");
    let m = json(&vigia(
        data.path(),
        &pg.url(),
        &[
            "db",
            "match",
            "Debian",
            "libc6",
            "2.36-9+deb12u3",
            "--distro",
            "debian:12",
            "--source-name",
            "glibc",
            "--format",
            "json",
        ],
    ));
    let f = m["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["vulnerability_id"] == "CVE-2023-6246")
        .unwrap();
    assert_eq!(f["fixed_version"], "2.36-9+deb12u4");
}

#[test]
fn an_incremental_update_on_postgresql_holds_the_same_rows_as_a_cold_build() {
    let pg = vigia_test_support::Postgres::start();
    let (incremental, cold) = (
        pg.create_database("incremental"),
        pg.create_database("cold"),
    );
    let data = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let update = |url: &str| {
        json(&vigia(
            data.path(),
            url,
            &[
                "db",
                "update",
                "--mirror",
                mirror.path().to_str().unwrap(),
                "--format",
                "json",
            ],
        ))
    };
    assert_eq!(update(&incremental)["failed"], 0);
    let before = vigia_test_support::dump_advisory_tables(&incremental);
    let gone = vigia_test_support::change_npm_export(mirror.path());
    let report = update(&incremental);
    assert_eq!(report["updated"], 1, "{report:#}");
    let after = vigia_test_support::dump_advisory_tables(&incremental);
    vigia_test_support::assert_npm_change_applied(&before, &after, &gone);
    assert_eq!(update(&cold)["failed"], 0);
    let cold = vigia_test_support::dump_advisory_tables(&cold);
    vigia_test_support::assert_same_rows(&after, &cold);
}
