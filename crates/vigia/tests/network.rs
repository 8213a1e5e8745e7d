//! Network reachability and the contextual score on the shared host
//! snapshot, placed in AWS networks written as the AWS CLI prints them
//! (`tests/fixtures/aws-shop`: a public subnet, an internet gateway, the
//! default network ACL, a security group open to 0.0.0.0/0 on 22 and 5432,
//! and the instance with a public IPv4 address). Each case edits a copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

const HOST: &str = "i-0123456789abcdef0";
const IGW: &str = "igw-04d3c2b1a0f9e8d7c";
const ACL: &str = "acl-0e5d4c3b2a1f0e9d8";
const SG: &str = "sg-0d34debf87410f2d9";
const ENI: &str = "eni-094ad651219472857";
const VPC: &str = "vpc-0a1b2c3d4e5f60718";
const SUBNET: &str = "subnet-0f1e2d3c4b5a69788";

fn vigia(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(args)
        .env("VIGIA_HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&ok(out).stdout).unwrap()
}

fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")))
    })
    .path()
}

fn snapshot() -> String {
    vigia_test_support::shared_dir()
        .join("targets/host-snapshot.tar.gz")
        .display()
        .to_string()
}

fn base() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-shop")
}

/// A copy of the base folder with `edit` applied to its JSON files.
fn folder(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    vigia_test_support::copy_dir(&base(), dir.path());
    edit(dir.path());
    dir
}

fn edit_json(dir: &Path, file: &str, f: impl FnOnce(&mut Value)) {
    let p = dir.join(file);
    let mut v: Value = serde_json::from_slice(&fs_err::read(&p).unwrap()).unwrap();
    f(&mut v);
    fs_err::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

fn write_json(dir: &Path, file: &str, v: &Value) {
    fs_err::write(dir.join(file), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn scan_host(home: &Path, network: &Path, extra: &[&str]) -> Value {
    let snap = snapshot();
    let mut args = vec![
        "scan",
        "host",
        snap.as_str(),
        "--network",
        network.to_str().unwrap(),
        "-f",
        "json",
    ];
    args.extend_from_slice(extra);
    json_of(&vigia(home, &args))
}

/// The document is valid against botocore's model of `shape` (its `list` member a list of them).
fn validate_aws(service: &str, shape: &str, list: &str, doc: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(file.path(), serde_json::to_vec(doc).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-aws-shape.py");
    let out = Command::new("python3")
        .arg(script)
        .args([service, shape])
        .arg(file.path())
        .args(["--list", list, "--extra", "vigia"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "against botocore's {service} {shape}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn of_type<'a>(r: &'a Value, ty: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == ty)
        .collect()
}

fn titles(r: &Value) -> Vec<String> {
    let mut t: Vec<String> = of_type(r, "NETWORK_REACHABILITY")
        .iter()
        .map(|f| f["title"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

fn by_id<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

fn steps(f: &Value) -> Vec<(String, String)> {
    f["networkReachabilityDetails"]["networkPath"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["componentId"].as_str().unwrap().to_owned(),
                s["componentType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn direct_path() -> Vec<(String, String)> {
    [
        (IGW, "AWS::EC2::InternetGateway"),
        (ACL, "AWS::EC2::NetworkAcl"),
        (SG, "AWS::EC2::SecurityGroup"),
        (ENI, "AWS::EC2::NetworkInterface"),
        (HOST, "AWS::EC2::Instance"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

#[test]
fn a_public_instance_open_on_22_and_5432() {
    let r = scan_host(data_dir(), &base(), &[]);
    validate_aws("inspector2", "Finding", "findings", &r);
    let snap = snapshot();
    let asff = json_of(&vigia(
        data_dir(),
        &[
            "scan",
            "host",
            &snap,
            "--network",
            base().to_str().unwrap(),
            "--scanners",
            "network",
            "-f",
            "asff",
        ],
    ));
    validate_aws("securityhub", "AwsSecurityFinding", "Findings", &asff);
    assert_eq!(asff["Findings"].as_array().unwrap().len(), 2);
    assert_eq!(
        titles(&r),
        [
            "Port 22 is reachable from an Internet Gateway - TCP",
            "Port 5432 is reachable from an Internet Gateway - TCP"
        ]
    );
    for f in of_type(&r, "NETWORK_REACHABILITY") {
        assert_eq!(steps(f), direct_path());
        let d = &f["networkReachabilityDetails"];
        assert_eq!(d["protocol"], "TCP");
        assert_eq!(d["openPortRange"]["begin"], d["openPortRange"]["end"]);
        let port = d["openPortRange"]["begin"].as_u64().unwrap();
        assert!(
            f["description"].as_str().unwrap().starts_with(&format!(
                "On the instance {HOST}, the port range {port}-{port} is reachable from the InternetGateway {IGW} from an attached ENI {ENI}."
            )),
            "{}",
            f["description"]
        );
        assert_eq!(
            f["remediation"]["recommendation"]["text"],
            "You can restrict access to your instance by modifying the Security Groups or ACLs in the network path."
        );
        assert_eq!(f["resources"][0]["id"], HOST);
        assert_eq!(f["status"], "ACTIVE");
    }
    // The snapshot's sockets: sshd and postgres listen, so the ratings rise.
    let sev: Vec<(u64, &str)> = of_type(&r, "NETWORK_REACHABILITY")
        .iter()
        .map(|f| {
            (
                f["networkReachabilityDetails"]["openPortRange"]["begin"]
                    .as_u64()
                    .unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        sev.contains(&(22, "HIGH")) && sev.contains(&(5432, "CRITICAL")),
        "{sev:?}"
    );
    // An internet-facing host keeps AV:N.
    let systemd = by_id(&r, "CVE-2023-7008");
    assert_eq!(systemd["inspectorScore"], 5.9);
    assert_eq!(
        systemd["inspectorScoreDetails"]["adjustedCvss"]["adjustments"],
        json!([])
    );
    // Without the snapshot's sockets the same model rates 22 as Inspector's sample does.
    let check = json_of(&vigia(
        data_dir(),
        &["network", "check", base().to_str().unwrap(), "-f", "json"],
    ));
    let ssh = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"] == "Port 22 is reachable from an Internet Gateway - TCP")
        .unwrap();
    assert_eq!(ssh["severity"], "MEDIUM");
    assert_eq!(steps(ssh), direct_path());
}

#[test]
fn without_a_public_address_av_n_becomes_av_a() {
    let private = folder(|d| {
        edit_json(d, "describe-instances.json", |v| {
            let i = &mut v["Reservations"][0]["Instances"][0];
            for k in ["PublicIpAddress", "PublicDnsName"] {
                i.as_object_mut().unwrap().remove(k);
            }
            let eni = &mut i["NetworkInterfaces"][0];
            eni.as_object_mut().unwrap().remove("Association");
            eni["PrivateIpAddresses"][0]
                .as_object_mut()
                .unwrap()
                .remove("Association");
        });
    });
    let r = scan_host(data_dir(), private.path(), &[]);
    assert!(titles(&r).is_empty(), "{:?}", titles(&r));
    // AV:N vectors of this host, scored again as AV:A (CVSS 3.1 formula).
    for (id, base, adjusted, vector) in [
        (
            "CVE-2023-7008",
            5.9,
            5.3,
            "CVSS:3.1/AV:A/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N",
        ),
        (
            "CVE-2024-12133",
            5.3,
            4.3,
            "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
        ),
    ] {
        let f = by_id(&r, id);
        assert_eq!(
            f["packageVulnerabilityDetails"]["cvss"][0]["baseScore"], base,
            "{id}"
        );
        assert_eq!(f["inspectorScore"], adjusted, "{id}");
        let adj = &f["inspectorScoreDetails"]["adjustedCvss"];
        assert_eq!(adj["scoringVector"], vector);
        assert_eq!(adj["adjustments"][0]["metric"], "AV");
        let reason = adj["adjustments"][0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("NO_INTERNET_PATH") && reason.contains("no public IPv4 address"),
            "{reason}"
        );
        // The severity stays the base score's band.
        assert_eq!(f["severity"], "MEDIUM");
    }
}

fn deny_entry(rule: u32, egress: bool, from: u16, to: u16) -> Value {
    json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "PortRange": {"From": from, "To": to},
           "Protocol": "6", "RuleAction": "deny", "RuleNumber": rule})
}

#[test]
fn network_acl_denials_inbound_and_of_the_replies() {
    let inbound = folder(|d| {
        edit_json(d, "describe-network-acls.json", |v| {
            v["NetworkAcls"][0]["Entries"]
                .as_array_mut()
                .unwrap()
                .push(deny_entry(90, false, 5432, 5432));
        });
    });
    let r = scan_host(data_dir(), inbound.path(), &[]);
    assert_eq!(
        titles(&r),
        ["Port 22 is reachable from an Internet Gateway - TCP"]
    );
    let explain = |dir: &Path, port: &str| {
        let out = vigia(
            data_dir(),
            &[
                "network",
                "check",
                dir.to_str().unwrap(),
                "--explain",
                &format!("{HOST}:{port}/tcp"),
            ],
        );
        String::from_utf8(ok(&out).stdout.clone()).unwrap()
    };
    let text = explain(inbound.path(), "5432");
    assert!(
        text.contains("NOT REACHABLE")
            && text.contains(&format!(
                "network ACL {ACL} rule 90 denies TCP 5432 inbound"
            )),
        "{text}"
    );
    assert!(explain(inbound.path(), "22").contains("REACHABLE\n  open path: igw-"));
    let json = json_of(&vigia(
        data_dir(),
        &[
            "network",
            "check",
            inbound.path().to_str().unwrap(),
            "--explain",
            &format!("{HOST}:5432/tcp"),
            "-f",
            "json",
        ],
    ));
    assert_eq!(json["reachable"], false);
    assert_eq!(json["blocked"][0]["componentId"], ACL);

    // Replies to the clients' ephemeral ports denied: no TCP path is open,
    // 22 included, and the explanation says the replies are dropped.
    let replies = folder(|d| {
        edit_json(d, "describe-network-acls.json", |v| {
            v["NetworkAcls"][0]["Entries"]
                .as_array_mut()
                .unwrap()
                .push(deny_entry(90, true, 1024, 65535));
        });
    });
    let r = scan_host(data_dir(), replies.path(), &[]);
    assert!(titles(&r).is_empty(), "{:?}", titles(&r));
    let text = explain(replies.path(), "22");
    assert!(
        text.contains("rule 90 denies the replies") && text.contains("replies are dropped"),
        "{text}"
    );
    // With the replies dropped the host has no internet path: AV:N becomes AV:A.
    assert_eq!(by_id(&r, "CVE-2023-7008")["inspectorScore"], 5.3);
}

/// A mirror whose NVD feed also scores the Redis CVE the snapshot has, with
/// the vector NVD shows for it (GitHub's, as CNA).
fn data_dir_with_redis_vector() -> tempfile::TempDir {
    let mirror = vigia_test_support::mirror_copy();
    let record = json!({"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
        "timestamp": "2025-10-08T00:00:00.000", "vulnerabilities": [{"cve": {"id": "CVE-2025-49844", "sourceIdentifier": "security-advisories@github.com",
        "published": "2025-10-03T20:15:33.810", "lastModified": "2025-10-07T17:15:33.813", "vulnStatus": "Awaiting Analysis",
        "descriptions": [{"lang": "en", "value": "Redis is an open source, in-memory database that persists on disk. Versions 8.2.1 and below allow an authenticated user to use a specially crafted Lua script to manipulate the garbage collector, trigger a use-after-free and potentially lead to remote code execution."}],
        "metrics": {"cvssMetricV31": [{"source": "security-advisories@github.com", "type": "Secondary", "cvssData": {"version": "3.1",
            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", "baseScore": 9.9, "baseSeverity": "CRITICAL",
            "attackVector": "NETWORK", "attackComplexity": "LOW", "privilegesRequired": "LOW", "userInteraction": "NONE", "scope": "CHANGED",
            "confidentialityImpact": "HIGH", "integrityImpact": "HIGH", "availabilityImpact": "HIGH"}, "exploitabilityScore": 3.1, "impactScore": 6.0}]},
        "references": [{"url": "https://github.com/redis/redis/security/advisories/GHSA-4789-qfc9-5f9q", "source": "security-advisories@github.com"}]}}]});
    fs_err::write(
        mirror.path().join("nvd/nvdcve-2.0-redis.json.gz"),
        vigia_test_support::gzip(&serde_json::to_vec(&record).unwrap()),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    ok(&vigia(
        home.path(),
        &["db", "update", "--mirror", mirror.path().to_str().unwrap()],
    ));
    home
}

#[test]
fn a_load_balancer_forwards_443_to_8080_and_loopback_is_never_reachable() {
    let lb_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop-web/50dc6c495c0c9188";
    let tg_arn =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web/73e2d6bc24d8a067";
    let lb_sg = "sg-0a9b8c7d6e5f4a3b2";
    let with_lb = folder(|d| {
        edit_json(d, "describe-security-groups.json", |v| {
            let groups = v["SecurityGroups"].as_array_mut().unwrap();
            // The instance: 22 from anywhere, 8080 from the load balancer's group only.
            groups[0]["IpPermissions"] = json!([
                {"FromPort": 22, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh"}], "Ipv6Ranges": [], "PrefixListIds": [], "ToPort": 22, "UserIdGroupPairs": []},
                {"FromPort": 8080, "IpProtocol": "tcp", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "ToPort": 8080,
                 "UserIdGroupPairs": [{"Description": "from the load balancer", "GroupId": lb_sg, "UserId": "123456789012"}]}
            ]);
            groups.push(json!({"Description": "shop-web load balancer", "GroupName": "shop-web-lb", "OwnerId": "123456789012", "GroupId": lb_sg, "VpcId": VPC,
                "IpPermissions": [{"FromPort": 443, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "PrefixListIds": [], "ToPort": 443, "UserIdGroupPairs": []}],
                "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
                "Tags": [{"Key": "Name", "Value": "shop-web-lb"}]}));
        });
        write_json(
            d,
            "describe-load-balancers.json",
            &json!({"LoadBalancers": [{"LoadBalancerArn": lb_arn,
            "DNSName": "shop-web-1234567890.us-east-1.elb.amazonaws.com", "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K", "CreatedTime": "2026-11-30T09:20:11.370000+00:00",
            "LoadBalancerName": "shop-web", "Scheme": "internet-facing", "VpcId": VPC, "State": {"Code": "active"}, "Type": "application",
            "AvailabilityZones": [{"ZoneName": "us-east-1b", "SubnetId": "subnet-0b2c3d4e5f6a7b8c9", "LoadBalancerAddresses": []},
                                  {"ZoneName": "us-east-1a", "SubnetId": SUBNET, "LoadBalancerAddresses": []}],
            "SecurityGroups": [lb_sg], "IpAddressType": "ipv4"}]}),
        );
        write_json(
            d,
            "describe-target-groups.json",
            &json!({"TargetGroups": [{"TargetGroupArn": tg_arn, "TargetGroupName": "shop-web",
            "Protocol": "HTTP", "Port": 8080, "VpcId": VPC, "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": true,
            "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5, "UnhealthyThresholdCount": 2,
            "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"}, "LoadBalancerArns": [lb_arn], "TargetType": "instance",
            "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4"}]}),
        );
        write_json(
            d,
            "describe-target-health.json",
            &json!({"TargetHealthDescriptions": [{"Target": {"Id": HOST, "Port": 8080, "AvailabilityZone": "us-east-1a"},
            "HealthCheckPort": "8080", "TargetHealth": {"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"}}]}),
        );
        write_json(
            d,
            "describe-listeners.json",
            &json!({"Listeners": [{"ListenerArn": format!("{lb_arn}/f2f7dc8efc522ab2"), "LoadBalancerArn": lb_arn,
            "Port": 443, "Protocol": "HTTPS", "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/3dcb0a41-bd72-4774-9ad9-756919c40557"}],
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg_arn, "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg_arn, "Weight": 1}]}}]}]}),
        );
    });
    let home = data_dir_with_redis_vector();
    let r = scan_host(home.path(), with_lb.path(), &["--host-id", HOST]);
    validate_aws("inspector2", "Finding", "findings", &r);
    assert_eq!(
        titles(&r),
        [
            "Port 22 is reachable from an Internet Gateway - TCP",
            "Port 8080 is reachable from an Internet Gateway - TCP"
        ]
    );
    let web = of_type(&r, "NETWORK_REACHABILITY")
        .into_iter()
        .find(|f| f["networkReachabilityDetails"]["openPortRange"]["begin"] == 8080)
        .unwrap();
    let path: Vec<String> = steps(web).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        path,
        [
            "AWS::EC2::InternetGateway",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::SecurityGroup",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            // The load balancer's nodes are in the other subnet: the target's ACL is crossed too.
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::NetworkInterface",
            "AWS::EC2::Instance"
        ]
    );
    assert_eq!(steps(web)[3].0, lb_arn);
    assert_eq!(steps(web)[2].0, lb_sg);
    // Nothing listens on 8080 in the snapshot: the rating says so.
    assert!(
        web["description"]
            .as_str()
            .unwrap()
            .contains("nothing listening"),
        "{}",
        web["description"]
    );
    // The groups do not open 6379, and --explain says which one stops it.
    let out = vigia(
        home.path(),
        &[
            "network",
            "check",
            with_lb.path().to_str().unwrap(),
            "--explain",
            &format!("{HOST}:6379/tcp"),
        ],
    );
    let text = String::from_utf8_lossy(&ok(&out).stdout).into_owned();
    assert!(
        text.contains("NOT REACHABLE") && text.contains(&format!("security groups {SG}")),
        "{text}"
    );
    // With a group open on every port the network path reaches 6379, but its
    // only listener is bound to loopback: the finding says it is not reachable there.
    let everything = folder(|d| {
        edit_json(d, "describe-security-groups.json", |v| {
            v["SecurityGroups"][0]["IpPermissions"] = json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]);
        });
    });
    let snap = snapshot();
    let wide = json_of(&vigia(
        home.path(),
        &[
            "scan",
            "host",
            &snap,
            "--network",
            everything.path().to_str().unwrap(),
            "--scanners",
            "network",
            "-f",
            "json",
        ],
    ));
    let tcp = of_type(&wide, "NETWORK_REACHABILITY")
        .into_iter()
        .find(|f| f["networkReachabilityDetails"]["protocol"] == "TCP")
        .unwrap();
    assert_eq!(
        tcp["title"],
        "Port range 0-65535 is reachable from an Internet Gateway - TCP"
    );
    let d = tcp["description"].as_str().unwrap();
    assert!(
        d.contains(
            "redis-server (redis-server) on TCP 127.0.0.1:6379 (loopback only, not reachable)"
        ),
        "{d}"
    );
    // The Redis CVE: its service listens only on loopback, so AV:L.
    let redis = by_id(&r, "CVE-2025-49844");
    let adj = &redis["inspectorScoreDetails"]["adjustedCvss"];
    assert_eq!(
        adj["scoringVector"],
        "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H"
    );
    let reason = adj["adjustments"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("LOOPBACK_ONLY") && reason.contains("127.0.0.1:6379"),
        "{reason}"
    );
    // CVSS 3.1: AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H is 8.8.
    assert_eq!(redis["inspectorScore"], 8.8);
    assert_eq!(
        redis["packageVulnerabilityDetails"]["cvss"][0]["baseScore"],
        9.9
    );
}

#[test]
fn the_network_scanner_alone_needs_no_database_and_reads_the_host_firewall() {
    let empty = tempfile::tempdir().unwrap();
    let snap = snapshot();
    // No model: the host's own listeners (not loopback, not established connections).
    let r = json_of(&vigia(
        empty.path(),
        &["scan", "host", &snap, "--scanners", "network", "-f", "json"],
    ));
    assert_eq!(
        titles(&r),
        [
            "Port 22 is reachable from an attached network - TCP",
            "Port 5432 is reachable from an attached network - TCP",
            "Port 68 is reachable from an attached network - UDP",
            "Port 80 is reachable from an attached network - TCP"
        ]
    );
    assert!(of_type(&r, "PACKAGE_VULNERABILITY").is_empty());
    // The host firewall given beside the snapshot closes what it drops.
    let rules = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(
        rules.path(),
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 5432 -j DROP\n-A INPUT -p udp --dport 68 -j DROP\nCOMMIT\n",
    )
    .unwrap();
    let r = json_of(&vigia(
        empty.path(),
        &[
            "scan",
            "host",
            &snap,
            "--scanners",
            "network",
            "--firewall",
            rules.path().to_str().unwrap(),
            "-f",
            "json",
        ],
    ));
    assert_eq!(
        titles(&r),
        [
            "Port 22 is reachable from an attached network - TCP",
            "Port 80 is reachable from an attached network - TCP"
        ]
    );
    // With the model, a host firewall on the path blocks too, and is named.
    let r = json_of(&vigia(
        empty.path(),
        &[
            "scan",
            "host",
            &snap,
            "--scanners",
            "network",
            "--network",
            base().to_str().unwrap(),
            "--firewall",
            rules.path().to_str().unwrap(),
            "-f",
            "json",
        ],
    ));
    assert_eq!(
        titles(&r),
        ["Port 22 is reachable from an Internet Gateway - TCP"]
    );
    // A malformed firewall file given on the command line is an error naming it.
    fs_err::write(rules.path(), "*filter\n-A NOWHERE -j DROP\n").unwrap();
    let out = vigia(
        empty.path(),
        &[
            "scan",
            "host",
            &snap,
            "--scanners",
            "network",
            "--firewall",
            rules.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(rules.path().to_str().unwrap()));
    // A host the model does not have is named.
    let out = vigia(
        empty.path(),
        &[
            "scan",
            "host",
            &snap,
            "--scanners",
            "network",
            "--network",
            base().to_str().unwrap(),
            "--host-id",
            "i-nope",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no host i-nope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_vigia_network_file_its_schema_and_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let home = tempfile::tempdir().unwrap();
    // The committed schema is what the types generate.
    let schema = vigia(home.path(), &["network", "schema"]);
    let committed = fs_err::read_to_string(root.join("docs/network.schema.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&ok(&schema).stdout).trim_end() == committed.trim_end(),
        "docs/network.schema.json is out of date: vigia network schema > docs/network.schema.json"
    );
    // The example validates against it (as JSON) and finds what its comments say.
    let example = root.join("docs/examples/network.yaml");
    let docs = vigia_inventory::yaml::load(&fs_err::read_to_string(&example).unwrap()).unwrap();
    let as_json = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(
        as_json.path(),
        serde_json::to_vec(&vigia_inventory::yaml::to_json(&docs[0])).unwrap(),
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(root.join("scripts/validate-json.py"))
        .arg(root.join("docs/network.schema.json"))
        .arg(as_json.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&vigia(
        home.path(),
        &["network", "check", example.to_str().unwrap(), "-f", "json"],
    ));
    assert_eq!(
        titles(&r),
        [
            "Port 22 is reachable from an Internet Gateway - TCP",
            "Port 443 is reachable from an Internet Gateway - TCP",
            "Port 5432 is reachable from a Virtual Private Gateway - TCP"
        ]
    );
    let db = of_type(&r, "NETWORK_REACHABILITY")
        .into_iter()
        .find(|f| f["resources"][0]["id"] == "db-01")
        .unwrap();
    assert_eq!(
        steps(db)[0],
        ("office-vpn".to_owned(), "AWS::EC2::VPNGateway".to_owned())
    );
    // The same file as JSON reads the same.
    let json_file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    fs_err::copy(as_json.path(), json_file.path()).unwrap();
    let again = json_of(&vigia(
        home.path(),
        &[
            "network",
            "check",
            json_file.path().to_str().unwrap(),
            "-f",
            "json",
        ],
    ));
    assert_eq!(titles(&again), titles(&r));
    // Mistakes are errors naming the file and what is wrong.
    let bad = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    for (text, says) in [
        (
            "hosts:\n  - id: a\n    interfaces: [{id: e, subnet: nowhere}]\n",
            "subnet \"nowhere\", which is not defined",
        ),
        (
            "subnets:\n  - id: s\n    vpc: v\n    cidrs: [10.0.0.0/33]\n",
            "not a Vigia network file",
        ),
        ("gatways: []\n", "unknown field `gatways`"),
        ("a: &x [1]\nb: *x\n", "aliases"),
    ] {
        fs_err::write(bad.path(), text).unwrap();
        let out = vigia(
            home.path(),
            &["network", "check", bad.path().to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            err.contains(bad.path().to_str().unwrap()) && err.contains(says),
            "{text}: {err}"
        );
    }
    // --explain needs HOST:PORT/PROTO and a host the model has.
    let out = vigia(
        home.path(),
        &[
            "network",
            "check",
            example.to_str().unwrap(),
            "--explain",
            "web-01:http",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = vigia(
        home.path(),
        &[
            "network",
            "check",
            example.to_str().unwrap(),
            "--explain",
            "web-02:22/tcp",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no host web-02"));
}
