//! The AWS CLI importer and the analysis on the shapes AWS prints: IPv6
//! ranges, security group references, prefix lists, `-1` protocols, port
//! ranges, the main route table fallback, peering and VPN gateways.

use serde_json::{Value, json};
use vigia_network::{Exposure, Transport};

const VPC: &str = "vpc-0abc";
const SUBNET: &str = "subnet-0pub";
const IGW: &str = "igw-0main";
const HOST: &str = "i-0host";

/// A folder of AWS CLI outputs: one VPC (10.0.0.0/16 and an IPv6 block),
/// one subnet, an internet gateway, a route table associated with the
/// subnet (default routes to the gateway), the default ACL (allow all), a
/// security group `sg-0app` whose inbound rules the test gives, and one
/// instance with a public IPv4 address.
struct Folder {
    files: Vec<(&'static str, Value)>,
}

impl Folder {
    #[allow(clippy::needless_pass_by_value)]
    fn new(inbound: Value) -> Self {
        let files = vec![
            (
                "describe-vpcs.json",
                json!({"Vpcs": [{"VpcId": VPC, "CidrBlock": "10.0.0.0/16", "State": "available", "OwnerId": "123456789012",
                    "CidrBlockAssociationSet": [{"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}}],
                    "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:aa:100::/56", "Ipv6CidrBlockState": {"State": "associated"}}]}]}),
            ),
            (
                "describe-subnets.json",
                json!({"Subnets": [{"SubnetId": SUBNET, "VpcId": VPC, "CidrBlock": "10.0.1.0/24", "State": "available",
                    "MapPublicIpOnLaunch": true,
                    "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:aa:101::/64", "Ipv6CidrBlockState": {"State": "associated"}}]}]}),
            ),
            (
                "describe-internet-gateways.json",
                json!({"InternetGateways": [{"InternetGatewayId": IGW, "OwnerId": "123456789012", "Attachments": [{"State": "available", "VpcId": VPC}]}]}),
            ),
            (
                "describe-route-tables.json",
                json!({"RouteTables": [{"RouteTableId": "rtb-0pub", "VpcId": VPC, "OwnerId": "123456789012",
                "Associations": [{"Main": false, "SubnetId": SUBNET, "RouteTableId": "rtb-0pub", "AssociationState": {"State": "associated"}}],
                "Routes": [
                    {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
                    {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": IGW, "Origin": "CreateRoute", "State": "active"},
                    {"DestinationIpv6CidrBlock": "::/0", "GatewayId": IGW, "Origin": "CreateRoute", "State": "active"}
                ]}]}),
            ),
            (
                "describe-network-acls.json",
                json!({"NetworkAcls": [{"NetworkAclId": "acl-0default", "VpcId": VPC, "IsDefault": true, "OwnerId": "123456789012",
                "Associations": [{"NetworkAclId": "acl-0default", "SubnetId": SUBNET}],
                "Entries": [
                    {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": false, "CidrBlock": "0.0.0.0/0"},
                    {"RuleNumber": 101, "Protocol": "-1", "RuleAction": "allow", "Egress": false, "Ipv6CidrBlock": "::/0"},
                    {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": false, "CidrBlock": "0.0.0.0/0"},
                    {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": true, "CidrBlock": "0.0.0.0/0"},
                    {"RuleNumber": 101, "Protocol": "-1", "RuleAction": "allow", "Egress": true, "Ipv6CidrBlock": "::/0"},
                    {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": true, "CidrBlock": "0.0.0.0/0"}
                ]}]}),
            ),
            (
                "describe-security-groups.json",
                json!({"SecurityGroups": [
                    {"GroupId": "sg-0app", "GroupName": "app", "VpcId": VPC, "OwnerId": "123456789012", "Description": "app",
                     "IpPermissions": inbound,
                     "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]},
                    {"GroupId": "sg-0lb", "GroupName": "lb", "VpcId": VPC, "OwnerId": "123456789012", "Description": "lb",
                     "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
                     "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}]}
                ]}),
            ),
            (
                "describe-instances.json",
                json!({"Reservations": [{"ReservationId": "r-0", "OwnerId": "123456789012", "Groups": [], "Instances": [{
                    "InstanceId": HOST, "InstanceType": "t3.small", "State": {"Code": 16, "Name": "running"},
                    "SubnetId": SUBNET, "VpcId": VPC, "PrivateIpAddress": "10.0.1.10", "PublicIpAddress": "3.80.1.2",
                    "SecurityGroups": [{"GroupId": "sg-0app", "GroupName": "app"}],
                    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-0host", "SubnetId": SUBNET, "VpcId": VPC, "Status": "in-use",
                        "Attachment": {"DeviceIndex": 0, "Status": "attached"},
                        "Association": {"PublicIp": "3.80.1.2", "IpOwnerId": "amazon"},
                        "Groups": [{"GroupId": "sg-0app", "GroupName": "app"}],
                        "PrivateIpAddress": "10.0.1.10",
                        "PrivateIpAddresses": [{"Primary": true, "PrivateIpAddress": "10.0.1.10", "Association": {"PublicIp": "3.80.1.2", "IpOwnerId": "amazon"}}],
                        "Ipv6Addresses": []}]}]}]}),
            ),
        ];
        Self { files }
    }

    fn edit(&mut self, file: &str, f: impl FnOnce(&mut Value)) -> &mut Self {
        let v = &mut self
            .files
            .iter_mut()
            .find(|(n, _)| *n == file)
            .expect("a file of the folder")
            .1;
        f(v);
        self
    }

    fn add(&mut self, file: &'static str, v: Value) -> &mut Self {
        self.files.push((file, v));
        self
    }

    fn check(&self) -> Vec<Exposure> {
        let dir = tempfile::tempdir().unwrap();
        for (name, v) in &self.files {
            fs_err::write(dir.path().join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
        }
        let net = vigia_network::load(dir.path()).unwrap();
        vigia_network::check(&net)
    }
}

fn perm(proto: &str, from: i64, to: i64, cidrs: &[&str]) -> Value {
    json!({"IpProtocol": proto, "FromPort": from, "ToPort": to,
           "IpRanges": cidrs.iter().filter(|c| !c.contains(':')).map(|c| json!({"CidrIp": c})).collect::<Vec<_>>(),
           "Ipv6Ranges": cidrs.iter().filter(|c| c.contains(':')).map(|c| json!({"CidrIpv6": c})).collect::<Vec<_>>(),
           "PrefixListIds": [], "UserIdGroupPairs": []})
}

fn titles(found: &[Exposure]) -> Vec<String> {
    found.iter().map(Exposure::title).collect()
}

fn no_public_ipv4(v: &mut Value) {
    let i = &mut v["Reservations"][0]["Instances"][0];
    i.as_object_mut().unwrap().remove("PublicIpAddress");
    let eni = &mut i["NetworkInterfaces"][0];
    eni.as_object_mut().unwrap().remove("Association");
    eni["PrivateIpAddresses"][0]
        .as_object_mut()
        .unwrap()
        .remove("Association");
}

#[test]
fn ipv6_ranges_reach_a_host_without_a_public_ipv4_address() {
    let mut f = Folder::new(json!([
        perm("tcp", 443, 443, &["::/0"]),
        perm("tcp", 22, 22, &["0.0.0.0/0"])
    ]));
    f.edit("describe-instances.json", |v| {
        no_public_ipv4(v);
        v["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]["Ipv6Addresses"] =
            json!([{"Ipv6Address": "2600:1f18:aa:101::10", "IsPrimaryIpv6": false}]);
    });
    let found = f.check();
    // 443 over IPv6; 22 only from IPv4, and the host has no public IPv4 address.
    assert_eq!(
        titles(&found),
        ["Port 443 is reachable from an Internet Gateway - TCP"]
    );
    let ids: Vec<&str> = found[0]
        .steps
        .iter()
        .map(|s| s.component_type.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "AWS::EC2::InternetGateway",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::NetworkInterface",
            "AWS::EC2::Instance"
        ]
    );
}

#[test]
fn a_group_reference_admits_members_only() {
    let by_group = json!({"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                          "UserIdGroupPairs": [{"GroupId": "sg-0lb", "UserId": "123456789012"}]});
    let mut f = Folder::new(json!([by_group]));
    assert!(f.check().is_empty(), "the internet is not in sg-0lb");
    // Through a load balancer in sg-0lb that listens on 443 and forwards to 8080.
    let lb =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
    let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067";
    f.add("describe-load-balancers.json", json!({"LoadBalancers": [{"LoadBalancerArn": lb, "LoadBalancerName": "web", "Scheme": "internet-facing",
            "Type": "application", "VpcId": VPC, "State": {"Code": "active"}, "IpAddressType": "ipv4",
            "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": SUBNET}], "SecurityGroups": ["sg-0lb"]}]}))
        .add("describe-target-groups.json", json!({"TargetGroups": [{"TargetGroupArn": tg, "TargetGroupName": "web", "Protocol": "HTTP", "Port": 8080,
            "VpcId": VPC, "TargetType": "instance", "LoadBalancerArns": [lb]}]}))
        .add("describe-target-health.json", json!({"TargetHealthDescriptions": [{"Target": {"Id": HOST, "Port": 8080}, "HealthCheckPort": "8080",
            "TargetHealth": {"State": "healthy"}}]}))
        .add("describe-listeners.json", json!({"Listeners": [{"ListenerArn": format!("{lb}/listener"), "LoadBalancerArn": lb, "Port": 443, "Protocol": "HTTPS",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}]}));
    let found = f.check();
    assert_eq!(
        titles(&found),
        ["Port 8080 is reachable from an Internet Gateway - TCP"]
    );
    let types: Vec<&str> = found[0]
        .steps
        .iter()
        .map(|s| s.component_type.as_str())
        .collect();
    assert!(
        types.contains(&"AWS::ElasticLoadBalancingV2::LoadBalancer"),
        "{types:?}"
    );
    assert!(
        found[0].description().contains("through the load balancer"),
        "{}",
        found[0].description()
    );
}

#[test]
fn prefix_lists_known_and_unknown() {
    let by_list = json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [], "Ipv6Ranges": [],
                         "PrefixListIds": [{"PrefixListId": "pl-0office", "Description": "office"}], "UserIdGroupPairs": []});
    let f = Folder::new(json!([by_list]));
    // Entries unknown: taken as holding internet addresses (it can only look more open).
    assert_eq!(
        titles(&f.check()),
        ["Port 22 is reachable from an Internet Gateway - TCP"]
    );
    // Known entries: only private space.
    let dir = tempfile::tempdir().unwrap();
    for (name, v) in &f.files {
        fs_err::write(dir.path().join(name), serde_json::to_vec(v).unwrap()).unwrap();
    }
    let mut net = vigia_network::load(dir.path()).unwrap();
    net.prefix_lists.push(vigia_network::model::PrefixList {
        id: "pl-0office".into(),
        cidrs: vec!["10.8.0.0/16".parse().unwrap()],
    });
    assert!(vigia_network::check(&net).is_empty());
    net.prefix_lists[0]
        .cidrs
        .push("198.51.100.0/24".parse().unwrap());
    assert_eq!(vigia_network::check(&net).len(), 1);
}

#[test]
fn all_protocols_open_every_port_of_tcp_and_udp() {
    let all = json!({"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []});
    let found = Folder::new(json!([all])).check();
    assert_eq!(
        titles(&found),
        [
            "Port range 0-65535 is reachable from an Internet Gateway - TCP",
            "Port range 0-65535 is reachable from an Internet Gateway - UDP"
        ]
    );
    // Rated by its worst recognised port, with no listener information.
    assert_eq!(found[0].severity, vigia_network::Level::Medium);
    // Protocol 50 (ESP) with ports given is neither TCP nor UDP.
    let esp = json!({"IpProtocol": "50", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []});
    assert!(Folder::new(json!([esp])).check().is_empty());
}

#[test]
fn overlapping_port_ranges_make_one_maximal_range() {
    let found = Folder::new(json!([
        perm("tcp", 8000, 8100, &["0.0.0.0/0"]),
        perm("tcp", 8050, 8200, &["203.0.113.0/24"]),
        perm("tcp", 8202, 8202, &["0.0.0.0/0"]),
        perm("udp", 53, 53, &["0.0.0.0/0"])
    ]))
    .check();
    assert_eq!(
        titles(&found),
        [
            "Port range 8000-8200 is reachable from an Internet Gateway - TCP",
            "Port 8202 is reachable from an Internet Gateway - TCP",
            "Port 53 is reachable from an Internet Gateway - UDP"
        ]
    );
    // A range from private space only is not internet-reachable.
    assert!(
        Folder::new(json!([perm(
            "tcp",
            22,
            22,
            &["10.0.0.0/8", "192.168.0.0/16"]
        )]))
        .check()
        .is_empty()
    );
}

#[test]
fn a_subnet_without_its_own_table_uses_the_main_one() {
    let public_main = |v: &mut Value| {
        let t = &mut v["RouteTables"][0];
        t["Associations"] = json!([{"Main": true, "RouteTableId": "rtb-0pub", "AssociationState": {"State": "associated"}}]);
    };
    let mut f = Folder::new(json!([perm("tcp", 22, 22, &["0.0.0.0/0"])]));
    f.edit("describe-route-tables.json", public_main);
    assert_eq!(
        titles(&f.check()),
        ["Port 22 is reachable from an Internet Gateway - TCP"]
    );
    // A main table without the gateway route: the subnet is private.
    f.edit("describe-route-tables.json", |v| {
        let routes = v["RouteTables"][0]["Routes"].as_array_mut().unwrap();
        routes.retain(|r| r["GatewayId"] != IGW);
    });
    assert!(f.check().is_empty());
    let dir = tempfile::tempdir().unwrap();
    for (name, v) in &f.files {
        fs_err::write(dir.path().join(name), serde_json::to_vec(v).unwrap()).unwrap();
    }
    let net = vigia_network::load(dir.path()).unwrap();
    let e = vigia_network::explain(&net, net.host(HOST).unwrap(), 22, Transport::Tcp);
    assert!(!e.reachable);
    assert!(
        e.blocked[0].reason.contains("rtb-0pub") && e.blocked[0].reason.contains("not public"),
        "{:?}",
        e.blocked
    );
}

#[test]
fn a_peering_connection_is_an_edge_of_its_own() {
    let mut f = Folder::new(json!([perm("tcp", 5432, 5432, &["10.30.0.0/16"])]));
    f.edit("describe-route-tables.json", |v| {
        v["RouteTables"][0]["Routes"].as_array_mut().unwrap().push(json!(
            {"DestinationCidrBlock": "10.30.0.0/16", "VpcPeeringConnectionId": "pcx-0peer", "Origin": "CreateRoute", "State": "active"}));
    })
    .add("describe-vpc-peering-connections.json", json!({"VpcPeeringConnections": [{"VpcPeeringConnectionId": "pcx-0peer",
        "Status": {"Code": "active", "Message": "Active"},
        "AccepterVpcInfo": {"VpcId": VPC, "OwnerId": "123456789012", "CidrBlock": "10.0.0.0/16", "CidrBlockSet": [{"CidrBlock": "10.0.0.0/16"}], "Region": "us-east-1"},
        "RequesterVpcInfo": {"VpcId": "vpc-0other", "OwnerId": "123456789012", "CidrBlock": "10.30.0.0/16", "CidrBlockSet": [{"CidrBlock": "10.30.0.0/16"}], "Region": "us-east-1"}}]}));
    let found = f.check();
    assert_eq!(
        titles(&found),
        ["Port 5432 is reachable from a VPC peering connection - TCP"]
    );
    assert_eq!(
        found[0].steps[0].component_type,
        "AWS::EC2::VPCPeeringConnection"
    );
    assert_eq!(found[0].gateway.noun(), "VpcPeeringConnection");
    // Without the route back through the peering, replies cannot return.
    f.edit("describe-route-tables.json", |v| {
        v["RouteTables"][0]["Routes"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r.get("VpcPeeringConnectionId").is_none());
    });
    assert!(f.check().is_empty());
}

#[test]
fn a_vpn_gateway_reaches_what_routes_send_to_it() {
    let mut f = Folder::new(json!([perm("tcp", 3389, 3389, &["172.16.0.0/12"])]));
    f.edit("describe-route-tables.json", |v| {
        v["RouteTables"][0]["Routes"].as_array_mut().unwrap().push(json!(
            {"DestinationCidrBlock": "172.16.0.0/16", "GatewayId": "vgw-0corp", "Origin": "EnableVgwRoutePropagation", "State": "active"}));
    })
    .add("describe-vpn-gateways.json", json!({"VpnGateways": [{"VpnGatewayId": "vgw-0corp", "State": "available", "Type": "ipsec.1",
        "AmazonSideAsn": 64512, "VpcAttachments": [{"State": "attached", "VpcId": VPC}]}]}));
    assert_eq!(
        titles(&f.check()),
        ["Port 3389 is reachable from a Virtual Private Gateway - TCP"]
    );
}

#[test]
fn missing_and_malformed_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = vigia_network::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("describe-instances.json is missing")
            && e.contains("aws ec2 describe-instances"),
        "{e}"
    );
    let f = Folder::new(json!([]));
    for (name, v) in &f.files {
        fs_err::write(dir.path().join(name), serde_json::to_vec(v).unwrap()).unwrap();
    }
    fs_err::write(
        dir.path().join("describe-network-acls.json"),
        b"{\"NetworkAcls\": [",
    )
    .unwrap();
    let e = vigia_network::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("describe-network-acls.json"), "{e}");
    fs_err::write(dir.path().join("describe-network-acls.json"), b"{\"NetworkAcls\": [{\"NetworkAclId\": \"a\", \"VpcId\": \"v\", \"Entries\": [{\"RuleNumber\": 1, \"Protocol\": \"-1\", \"RuleAction\": \"allow\", \"Egress\": false, \"CidrBlock\": \"10.0.0.0/33\"}]}]}").unwrap();
    let e = vigia_network::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("10.0.0.0/33"), "{e}");
}
