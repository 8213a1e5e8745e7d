//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Vigia finds vulnerable packages, exposed ports and hardcoded secrets in \
container images, hosts and serverless functions, and keeps watching them.";

const AFTER_HELP: &str = "\
Getting started:
  vigia db update                                  # fetch advisories from osv.dev, CISA KEV, EPSS, NVD
  vigia db update --mirror ../shared/vulndata      # the same, offline, from a mirror folder or URL
  vigia db status                                  # what is in the database and how fresh it is
  vigia db show CVE-2024-6387                      # one vulnerability, by any of its IDs
  vigia scan image ../shared/targets/debian12-app  # vulnerabilities in an image (also host, function, dir, sbom)

Exit codes:
  0  success
  1  error (the message names the input and what went wrong)
  2  usage error
  3  db update finished, but some sources failed (their previous data is kept)
  4  no vulnerability database yet: run `vigia db update`
  5  the vulnerability (or, for vigia token revoke, the token) asked for is not in the database
  6  vigia scan --fail-on: an active finding at or above that severity (see --exit-code)
  7  vigia scan: incomplete, an input listing packages could not be read or a package's
     version could not be compared (see --allow-incomplete)
  8  vigia gate: at least one image is refused by the deployment gate's policy

Environment:
  VIGIA_HOME          data directory (same as --data-dir)
  VIGIA_DATABASE_URL  postgres://… to use PostgreSQL instead of the embedded SQLite database
  VIGIA_LOG           log filter, e.g. `vigia_store=debug` (overrides -v/--quiet)";

/// Vigia: continuous vulnerability management.
#[derive(Debug, Parser)]
#[command(name = "vigia", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[arg(
        long,
        env = "VIGIA_HOME",
        global = true,
        help_heading = "Global options",
        value_name = "DIR",
        help = "Where Vigia keeps its database and caches [default: $XDG_DATA_HOME/vigia, or ~/.local/share/vigia]"
    )]
    pub(crate) data_dir: Option<PathBuf>,

    #[arg(
        long,
        help = "Use this database instead of the embedded SQLite one (postgres://user:pass@host/db)",
        env = "VIGIA_DATABASE_URL",
        global = true,
        help_heading = "Global options",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,

    /// More log output on stderr: -v info, -vv debug, -vvv trace (`serve` and `agent` log at info without -v, debug with -v)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Global options")]
    pub(crate) verbose: u8,

    /// Only errors on stderr, and what a scan could not read or match (NOT SCANNED, NOT COVERED: never silenced); no progress bars
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub(crate) quiet: bool,

    /// Log line format on stderr
    #[arg(
        long,
        value_enum,
        default_value_t = LogFormat::Text,
        global = true,
        help_heading = "Global options"
    )]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object per line
    Json,
}

/// How a command prints its data.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub(crate) enum Format {
    /// Text for people
    #[default]
    Table,
    /// JSON for programs
    Json,
}

// Parsed once per run: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Manage the vulnerability database (advisories, KEV, EPSS, CVSS)
    #[command(subcommand)]
    Db(DbCommand),
    /// List the packages in an image, root filesystem, function zip or folder (no database needed)
    #[command(after_help = "\
TARGET is any of:
  an image in an OCI registry: registry.example:5000/repo:tag or repo@sha256:… (--insecure for plain HTTP)
  an OCI image layout folder (has oci-layout and index.json)
  a `docker save` archive (.tar or .tar.gz, classic or OCI-style)
  a root filesystem folder (a mounted disk or snapshot, or / itself) or a tarball of one
  a Lambda-style function zip, or any folder with lockfiles

Formats: json (Vigia's own: packages with purl, file, layer; the OS; what ran and what failed),
cyclonedx (CycloneDX 1.6), spdx (SPDX 2.3).

Examples:
  vigia sbom ../shared/targets/debian12-app
  vigia sbom image.tar --format cyclonedx --output sbom.cdx.json
  vigia sbom / --format spdx")]
    Sbom(SbomArgs),
    /// Find vulnerabilities in an image, host, function, folder or SBOM
    #[command(after_help = SCAN_HELP)]
    Scan(ScanArgs),
    /// Find ports the internet, peered networks and VPNs can reach, from a network model
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Run the service: watch resources, keep their findings current, serve the API
    #[command(after_help = "\
The service scans every image (OCI layout folder, docker save archive), function zip and root
filesystem (folder or tarball) in the --watch folders once, keeps their inventories, and
re-evaluates the stored inventories whenever the advisories change (an update is due at start unless
one succeeded less than --update-every ago, then every --update-every; POST /v1/db/update
runs one now) without reading the resources again. New files are scanned, changed ones
rescanned, removed ones closed (RESOURCE_TERMINATED).

Its state (resources, inventories, findings and their history, filters, tokens) is in
state.db in the data directory, or in the `vigia_state` schema of --database-url's PostgreSQL.

The API listens on 127.0.0.1:8080 unless told otherwise. Every request but /healthz and
/readyz needs a token: create one with `vigia token create --role admin`.

Scale-out: several processes on one PostgreSQL (--database-url) share the work through its job
table. `--role api` serves the API and adds jobs; `--role worker` does them (scans, advisory
updates, rematches) and serves no API; `--role all`, the default, does both. A worker killed in
the middle of a job holds it until its --lease runs out; then another worker takes it again.

Examples:
  vigia serve --mirror ../shared/vulndata --watch ../shared/targets
  vigia token create --role viewer --name dashboard
  printf '%s\\n' \"$PASSWORD\" | vigia user create ana --role admin   # then open http://127.0.0.1:8080/ui/
  vigia --database-url postgres://vigia@db/vigia serve --role worker --mirror https://mirror.example
  curl -H \"Authorization: Bearer $TOKEN\" -d '{}' http://127.0.0.1:8080/findings/list")]
    Serve(ServeArgs),
    /// Create, list and revoke the service's API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create the dashboard's user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Ask a running service whether images may be deployed (for pipelines)
    #[command(after_help = "\
The service decides each image by its deployment gate policy (GET /v1/gate/policy) from the
findings it has stored for the image's digest: active findings at or above the policy's severity,
known exploited ones, a last scan older than allowed, or no scan at all refuse an image, unless an
exception allows it. Reference images by digest (repo@sha256:…): a tag cannot be tied to a scan.

Exit codes: 0 every image may be deployed; 8 at least one is refused (each is named with the
findings that break the policy); 1 the service could not be asked.

Examples:
  vigia gate registry.example/team/app@sha256:3476b4… --server https://vigia.internal:8080 --token $VIGIA_TOKEN
  vigia gate $IMAGE --server http://127.0.0.1:8080 -f json")]
    Gate(GateArgs),
    /// Send this host's inventory to a running service, and keep it current
    #[command(after_help = "\
The agent reads the host's packages (OS and language), OS, kernel, listening sockets and network
interfaces, and checks in with the service (POST /v1/agent/checkin, an agent token): at start,
whenever a package database (dpkg, apk, rpm) or a lockfile folder changes (inotify, debounced),
and every --heartbeat. After the first check-in only the packages added and removed are sent.
The service evaluates what changed and marks a host whose agent goes silent STALE_INVENTORY.
dist/vigia-agent.service runs it under systemd.

Exit codes: 0 done (--once) or stopped; 1 the host could not be read or the service refused.

Examples:
  vigia token create --role agent --name fleet        # on the service, once
  vigia agent --server https://vigia.internal:8080 --token $VIGIA_AGENT_TOKEN
  vigia agent --server http://127.0.0.1:8080 --token $T --root /mnt/snapshot --host-id web-7 --once")]
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The service's URL
    #[arg(long, value_name = "URL", env = "VIGIA_SERVER")]
    pub(crate) server: String,
    /// An agent token (vigia token create --role agent)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "VIGIA_AGENT_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: String,
    /// The root filesystem to read: this host's, or one mounted elsewhere
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub(crate) root: PathBuf,
    /// The host's ID [default: /etc/machine-id under --root, else its host name]
    #[arg(long, value_name = "ID")]
    pub(crate) host_id: Option<String>,
    /// Check in once and exit (cron, CI)
    #[arg(long)]
    pub(crate) once: bool,
    /// Seconds between check-ins when nothing changes
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) heartbeat: u64,
    /// Milliseconds to wait after a change for the next ones (a package manager writes many files)
    #[arg(long, value_name = "MILLIS", default_value_t = 2000)]
    pub(crate) debounce: u64,
    /// Output format of --once's answer
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback by default)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Read advisories from a mirror folder or http(s) base URL instead of the upstream hosts
    #[arg(long, value_name = "DIR|URL")]
    pub(crate) mirror: Option<String>,
    /// A folder whose images, function zips and root filesystems are watched (repeatable)
    #[arg(long, value_name = "DIR")]
    pub(crate) watch: Vec<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Seconds between advisory updates
    #[arg(long, value_name = "SECONDS", default_value_t = 21600)]
    pub(crate) update_every: u64,
    /// Seconds between looks at the watched folders
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub(crate) poll_every: u64,
    /// What this process does: the API and the work (all), the API only, or the work only
    #[arg(long, default_value = "all", value_parser = ["all", "api", "worker"])]
    pub(crate) role: String,
    /// Seconds a worker's claim on a job lasts unless renewed (renewed every third of it)
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) lease: u64,
    /// When a scan or a rematch opens more than N findings of one resource at once, send one
    /// `Vigia Findings Summary` event (counts by severity, the findings' ARNs) instead of an event
    /// per finding
    #[arg(long, value_name = "N", default_value_t = vigia_server::events::SUMMARIZE_ABOVE)]
    pub(crate) summarize_above: usize,
    /// Write no finding events for a resource's first scan (its scan and coverage events are
    /// written): for importing an estate whose findings are tracked elsewhere already. By default a
    /// first scan's findings are announced like any other, summarized above --summarize-above
    #[arg(long)]
    pub(crate) quiet_first_scans: bool,
    /// The deployment gate's policy (JSON, as /v1/gate/policy shows it), put in force at start
    #[arg(long, value_name = "FILE")]
    pub(crate) gate_policy: Option<PathBuf>,
    /// Registries to find images in (JSON: {"registries": [{name, url, username?, password?,
    /// dockerConfig?, include?, exclude?, scanFrequency?, rescanDuration?, ...}]}, as
    /// /v1/registries/create takes them), added or updated at start. A password may be given as
    /// passwordEnv: the name of an environment variable holding it
    #[arg(long, value_name = "FILE")]
    pub(crate) registries: Option<PathBuf>,
    /// A host whose agent has not checked in for this many seconds is ACTIVE / STALE_INVENTORY
    /// (its findings kept)
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub(crate) agent_stale_after: u64,
    /// ... and after this many, INACTIVE / STALE_INVENTORY
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    pub(crate) agent_inactive_after: u64,
    /// S3-compatible storage for findings reports and SBOM exports (credentials from AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION); without it, a bucket is a folder under exports/ in the data
    /// directory
    #[arg(long, value_name = "URL")]
    pub(crate) export_s3_endpoint: Option<String>,
    /// Days delivered events are kept (pending deliveries and dead letters are kept until delivered)
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub(crate) events_retention_days: u32,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash
    Create(TokenCreateArgs),
    /// Revoke a token by its ID
    Revoke(TokenRevokeArgs),
    /// List the tokens: ID, name, role, when created and revoked (never a secret)
    #[command(after_help = "\
Examples:
  vigia token list
  vigia token list -f json | jq -r '.[] | select(.revokedAt == null) | .id'")]
    List(TokenListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenListArgs {
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a dashboard account, or set an existing one's password and role
    #[command(after_help = "\
The password is read from standard input (its first line), never from the command line, so that
it stays out of shell history and process lists. It must be at least 12 characters long. It is
stored as an Argon2id hash.

Sign in at the dashboard (http://127.0.0.1:8080/ui/ by default) with the name and password, or
with an API token.

Examples:
  printf '%s\\n' \"$PASSWORD\" | vigia user create ana --role admin
  vigia user create ops --role viewer < password.txt")]
    Create(UserCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UserCreateArgs {
    /// The user name (letters, digits, '.', '_', '-', '@'; 1 to 64)
    pub(crate) name: String,
    /// admin (reads and writes) or viewer (reads)
    #[arg(long, default_value = "viewer")]
    pub(crate) role: String,
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    /// admin (reads and writes), viewer (reads) or agent (submits inventories)
    #[arg(long)]
    pub(crate) role: String,
    /// A name to recognise it by
    #[arg(long, default_value = "token")]
    pub(crate) name: String,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct GateArgs {
    /// Image references, by digest (registry/repo@sha256:…)
    #[arg(required = true, value_name = "IMAGE")]
    pub(crate) images: Vec<String>,
    /// The service's URL
    #[arg(long, value_name = "URL", env = "VIGIA_SERVER")]
    pub(crate) server: String,
    /// An API token (viewer or admin)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "VIGIA_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: String,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct TokenRevokeArgs {
    /// The token's ID (the part after `vgt_`, before the next `_`)
    pub(crate) id: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Reachability findings for every host of a network model
    #[command(after_help = "\
PATH is a folder of AWS CLI outputs named after their commands (describe-instances.json,
describe-security-groups.json, describe-subnets.json, describe-route-tables.json,
describe-network-acls.json, describe-internet-gateways.json; when present also
describe-network-interfaces.json, describe-addresses.json, describe-vpcs.json,
describe-vpc-peering-connections.json, describe-vpn-gateways.json, describe-load-balancers.json,
describe-target-groups.json, describe-target-health.json, describe-listeners.json), or a Vigia
network file (YAML or JSON, schema: `vigia network schema`).

One finding per host, edge (internet gateway, peering connection, VPN gateway), protocol and
maximal open port range, in Amazon Inspector's shape, with the path. --explain says why one port
is or is not reachable: the open paths, or the first component that blocks each edge.
The algorithm and the port severities are in docs/scoring.md.

Examples:
  vigia network check ./aws-export
  vigia network check ./aws-export --explain i-0123456789abcdef0:5432/tcp
  vigia network check network.yaml --format json")]
    Check(NetworkCheckArgs),
    /// Print the JSON Schema of the Vigia network file
    Schema,
}

#[derive(Debug, Args)]
pub(crate) struct NetworkCheckArgs {
    /// A folder of AWS CLI outputs, or a Vigia network file
    pub(crate) path: PathBuf,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Explain one port: HOST:PORT/PROTO (i-0123…:22/tcp)
    #[arg(long, value_name = "HOST:PORT/PROTO")]
    pub(crate) explain: Option<String>,
}

const SCAN_HELP: &str = "\
Scans never download advisories: run `vigia db update` first (and regularly; a database older
than 7 days gives a warning). Packages Vigia cannot match (an OS release or ecosystem without
advisories) are listed as NOT COVERED: their absence from the findings means nothing.

Findings are Amazon Inspector's shape (--format json), one per vulnerability and package (binary
packages built from one source package share a finding), with the severity from the distro's
CVSS, else NVD's, else the advisory's own, KEV and EPSS beside it, and a fix plan: the upgrades
that close the most, first.

Suppressing findings:
  .vigiaignore (YAML) in the current folder, or --ignore-file FILE:
    - id: CVE-2023-32681            # any alias of the vulnerability
      reason: only talks to our own API
      expires: 2027-03-31           # stops suppressing after this day (and says so)
    - purl: pkg:npm/lodash          # a package, any version (or pkg:npm/lodash@4.17.15)
      reason: build-time only
  --vex FILE: OpenVEX statements with status not_affected or fixed.
  Suppressed findings stay in the output as SUPPRESSED, with the reason.

Exit codes:
  0  scan done (findings or not, unless --fail-on)
  1  error (the message names the input)
  2  usage error
  4  no vulnerability database: run `vigia db update`
  6  an active finding at or above --fail-on (change it with --exit-code)
  7  incomplete: a package database, lockfile or manifest could not be read
     (named as NOT SCANNED), or a package's installed version is not one its
     ecosystem's scheme can compare (named as NOT EVALUATED);
     --allow-incomplete exits 0

Examples:
  vigia scan image ../shared/targets/debian12-app
  vigia scan image registry.example:5000/team/app:1.4 --fail-on high
  vigia scan host /mnt/snapshot --ignore-unfixed --severity critical,high
  vigia scan function build/handler.zip --format sarif --output vigia.sarif
  vigia scan dir . --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  vigia scan sbom sbom.cdx.json --format cyclonedx --vex vex.json";

#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// What to inventory
    pub(crate) target: PathBuf,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = SbomFormat::Json)]
    pub(crate) format: SbomFormat,
    /// Write to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

/// How to read a target: images, archives, registries.
#[derive(Debug, Args, Clone)]
pub(crate) struct SourceArgs {
    /// Platform to pick from a multi-platform image (os/arch[/variant]) [default: the host's]
    #[arg(long, value_name = "OS/ARCH")]
    pub(crate) platform: Option<String>,
    /// Largest number of bytes any compressed stream (a layer, an archive) may inflate to
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 30)]
    pub(crate) max_inflate: u64,
    /// Largest single file read for an extractor
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub(crate) max_file_size: u64,
    /// Read every image layer again instead of using the layer cache in the data directory
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Also list packages a manifest or lockfile names but its project's installed
    /// environment lacks (a site-packages or node_modules beside it), marked declared.
    /// By default the installed environment is the inventory, and what is left out is
    /// named in the warnings
    #[arg(long)]
    pub(crate) include_declared: bool,
    /// Trees of the target not to read, as absolute paths inside it (repeat or
    /// comma-separate: --skip-dirs /var/cache,/home). Named in the report as skipped
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    pub(crate) skip_dirs: Vec<String>,
    /// Trees to read that Vigia skips by default (on a live root: /proc, /sys, /dev,
    /// /run, /tmp), e.g. --include-dirs /tmp
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    pub(crate) include_dirs: Vec<String>,
    /// Talk plain HTTP to the registry (a registry on localhost or a lab network)
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Registry user name; the password comes from VIGIA_REGISTRY_PASSWORD (never a flag,
    /// which other users could read). Without it, credentials come from ~/.docker/config.json as Docker finds them (credHelpers, auths, credsStore), then anonymous access.
    #[arg(long, value_name = "USER")]
    pub(crate) username: Option<String>,
    /// Registry password (from the environment only)
    #[arg(
        long = "password-from-env",
        env = "VIGIA_REGISTRY_PASSWORD",
        hide = true,
        hide_env_values = true
    )]
    pub(crate) password: Option<String>,
}

/// What kind of resource `vigia scan` reads.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ScanKind {
    /// A container image: registry reference (alpine:3.18 is Docker Hub's), OCI layout folder or `docker save` archive
    Image,
    /// A host: a root filesystem folder (a mounted snapshot, or /) or a tarball of one
    Host,
    /// A function package: a Lambda-style zip (or layer zip) or its folder
    Function,
    /// A folder of source code and lockfiles, or one lockfile or manifest alone
    Dir,
    /// A CycloneDX or SPDX JSON document
    Sbom,
}

/// `vigia scan` output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum ScanFormat {
    /// Findings grouped by severity, with summary and fix plan
    Table,
    /// Amazon Inspector's finding shape: {"findings": [...], "scan": {...}}
    Json,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
    /// CycloneDX 1.6 with vulnerabilities and analysis (VDR)
    Cyclonedx,
    /// SPDX 2.3 with advisories as security references
    Spdx,
    /// One row per finding
    Csv,
    /// AWS Security Finding Format for Security Hub's BatchImportFindings
    Asff,
    /// A CI summary
    Markdown,
}

/// Which scanners run.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Scanner {
    /// Vulnerable OS and language packages
    Vuln,
    /// Hardcoded credentials
    Secret,
    /// Ports reachable from outside
    Network,
}

// Each bool is an independent command-line flag, which clap reads as a bool.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// What kind of resource TARGET is
    #[arg(value_enum)]
    pub(crate) kind: ScanKind,
    /// The resource: a path, or for images also a registry reference
    pub(crate) target: String,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = ScanFormat::Table)]
    pub(crate) format: ScanFormat,
    /// Write to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Only report these severities (comma-separated: critical,high,medium,low,informational,untriaged)
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) severity: Vec<String>,
    /// Leave out vulnerabilities that have no fixed version yet (and those the vendor will not fix)
    #[arg(long)]
    pub(crate) ignore_unfixed: bool,
    /// Exit with --exit-code when an active finding is at least this severe
    #[arg(long, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<String>,
    /// The exit code for --fail-on
    #[arg(long, value_name = "N", default_value_t = 6, requires = "fail_on")]
    pub(crate) exit_code: u8,
    /// Exit 0 even when a package database, lockfile or manifest could not be
    /// read (it is still named as NOT SCANNED in the report)
    #[arg(long)]
    pub(crate) allow_incomplete: bool,
    /// Also match development dependencies (package-lock `dev`, Pipfile `develop`,
    /// Poetry dev groups) in images, hosts and functions; a folder's are always matched
    #[arg(long)]
    pub(crate) include_dev: bool,
    /// Scanners to run, comma-separated [default: vuln,secret; vuln for an SBOM].
    /// `--scanners secret` alone needs no database
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) scanners: Vec<Scanner>,
    /// Also report secrets in files that a later image layer deleted, overwrote or hid
    /// (they are still in the image: anyone who pulls it can read them)
    #[arg(long)]
    pub(crate) secrets_all_layers: bool,
    /// Your secret rules (TOML): add or replace rules, disable some, allow-list values and
    /// paths, change the skipped paths and the file size limit (see docs/secrets.md)
    #[arg(long, value_name = "FILE")]
    pub(crate) secrets_config: Option<PathBuf>,
    /// Never use the network: registry references are refused (scans never download advisories)
    #[arg(long)]
    pub(crate) offline: bool,
    /// OpenVEX documents: `not_affected` and `fixed` statements suppress findings (repeatable)
    #[arg(long, value_name = "FILE")]
    pub(crate) vex: Vec<PathBuf>,
    /// Suppression file [default: ./.vigiaignore when it exists]
    #[arg(long, value_name = "FILE")]
    pub(crate) ignore_file: Option<PathBuf>,
    /// Hosts: the network model (AWS CLI folder or Vigia network file) for network findings and
    /// the contextual score (AV:N lowered when no internet path reaches the host)
    #[arg(long, value_name = "PATH")]
    pub(crate) network: Option<PathBuf>,
    /// Hosts: which host of the network model the snapshot is (optional when it has one)
    #[arg(long, value_name = "ID", requires = "network")]
    pub(crate) host_id: Option<String>,
    /// Hosts: iptables-save or `nft -j list ruleset` output to use as the host's firewall
    /// (repeatable; the snapshot's own /etc/iptables/rules.v4 and the like are read anyway)
    #[arg(long, value_name = "FILE")]
    pub(crate) firewall: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum SbomFormat {
    /// Vigia's own JSON
    Json,
    /// CycloneDX 1.6 JSON
    Cyclonedx,
    /// SPDX 2.3 JSON
    Spdx,
    /// A short table for people
    Table,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Download and ingest advisories; only sources that changed are fetched again
    #[command(after_help = "\
Sources (by default, the real upstreams):
  osv.dev exports   https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip
  CISA KEV          known_exploited_vulnerabilities.json
  FIRST EPSS        epss_scores-current.csv.gz
  NVD 2.0 feeds     nvdcve-2.0-<year>.json.gz (CVSS vectors)

A mirror (--mirror) is a folder or http(s) URL laid out like those hosts:
  <Ecosystem>/all.zip, kev/known_exploited_vulnerabilities.json,
  epss/epss_scores-current.csv.gz, nvd/*.json.gz (an HTTP mirror lists its files in manifest.json).

The update is atomic: it is built in one transaction and switched in at once. If it fails or is
killed, the previous database stays as it was. Two updates at once run one after the other.

Examples:
  vigia db update
  vigia db update --mirror ../shared/vulndata
  vigia db update --mirror http://127.0.0.1:8080/ --ecosystems PyPI,npm --format json")]
    Update(UpdateArgs),
    /// Show each source's record counts, freshness and problems
    #[command(after_help = "\
Each source (an osv.dev export, KEV, EPSS, NVD) with its records, withdrawn and malformed
ones, when it was last updated and checked, and whether it is stale; then the alias groups,
KEV entries, EPSS scores and CVSS vectors. Exit 4 when there is no database yet (run
`vigia db update`).

Examples:
  vigia db status
  vigia db status --format json | jq '.sources[] | select(.stale or .malformed > 0)'")]
    Status(FormatArgs),
    /// Show one vulnerability by any of its IDs (CVE, GHSA, PYSEC, DSA, …)
    #[command(after_help = "\
Every advisory of the vulnerability (each feed's record, its aliases merged into one), the
packages and ranges each names, CVSS vectors with their source, KEV and EPSS. A CVE with no
record of its own that an advisory names (a Debian DSA fixing several CVEs) shows that
advisory, with a warning: scans report the CVE from it. Exit 5 when no record names the ID.

Examples:
  vigia db show CVE-2024-6387
  vigia db show GHSA-m2qf-hxjv-5gpq --format json
  vigia db show DSA-5586-1")]
    Show(ShowArgs),
    /// Which vulnerabilities affect one package version, and why
    #[command(after_help = "\
OS packages are matched by their distro release and their source package, as the distro's
advisories name them: give --distro and, when the binary package's name differs from its
source package (libc6 from glibc, libssl3 from openssl), --source-name.

Examples:
  vigia db match PyPI flask 2.0.1
  vigia db match npm lodash 4.17.15
  vigia db match Debian libc6 2.36-9+deb12u3 --distro debian:12 --source-name glibc
  vigia db match Alpine libcrypto3 3.5.0-r0 --distro alpine:3.22 --source-name openssl
  vigia db match Go stdlib 1.21.0 --format json")]
    Match(MatchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MatchArgs {
    /// Ecosystem: Debian, Ubuntu, Alpine, Red Hat, PyPI, npm, crates.io, Go, Maven, RubyGems, NuGet, Packagist
    pub(crate) ecosystem: String,
    /// Package name
    pub(crate) name: String,
    /// Installed version
    #[arg(value_name = "VERSION")]
    pub(crate) installed: String,
    /// Distro release for OS packages (debian:12, alpine:3.20, ubuntu:22.04)
    #[arg(long, value_name = "DISTRO:RELEASE")]
    pub(crate) distro: Option<String>,
    /// Source package name (dpkg Source:, apk origin, source rpm)
    #[arg(long, value_name = "NAME")]
    pub(crate) source_name: Option<String>,
    /// Source package version, when it differs from the binary's
    #[arg(long, value_name = "VERSION", requires = "source_name")]
    pub(crate) source_version: Option<String>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Read from a mirror folder or http(s) base URL instead of the upstream hosts
    #[arg(long, value_name = "DIR|URL")]
    pub(crate) mirror: Option<String>,

    /// Only these osv.dev ecosystems, comma-separated (e.g. Debian,PyPI,npm)
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) ecosystems: Vec<String>,

    /// Skip KEV, EPSS and NVD
    #[arg(long)]
    pub(crate) no_enrichment: bool,

    /// List, in --format json, every package (ecosystem and normalised name) whose
    /// advisories changed since the previous database generation, per source
    #[arg(long)]
    pub(crate) changes: bool,

    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct FormatArgs {
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Any ID of the vulnerability
    pub(crate) id: String,

    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

impl SourceArgs {
    /// The trees to leave out or bring back.
    pub(crate) fn scope(&self) -> vigia_inventory::source::scope::Scope {
        vigia_inventory::source::scope::Scope {
            skip: self.skip_dirs.clone(),
            include: self.include_dirs.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `vigia --help` lists every exit code the README's table gives.
    #[test]
    fn help_lists_every_exit_code() {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("## Exit codes")
            .nth(1)
            .expect("the README has an exit code table");
        let codes: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with("| ---"))
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1).map(str::trim))
            .collect();
        assert!(codes.len() >= 9, "{codes:?}");
        let help = Cli::command().render_long_help().to_string();
        for code in codes {
            assert!(
                help.lines().any(|l| l.starts_with(&format!("  {code}  "))),
                "exit code {code} is not in vigia --help"
            );
        }
    }
}
