#!/usr/bin/env python3
"""Write a synthetic folder of AWS CLI outputs for benchmarking the network analysis.

    scripts/synth-network.py HOSTS OUT_DIR [--seed N]

HOSTS instances spread over 10 VPCs, each with 8 subnets (half public), a
route table per subnet kind, one network ACL per VPC with 20 entries (allows,
denies, port ranges, IPv4 and IPv6), and 50 security groups per VPC with 1-6
inbound rules each (CIDRs, group references, prefix lists, port ranges, -1).
Every instance has 1-2 interfaces with 1-3 groups; a third have public IPv4
addresses. The shapes are what `aws ec2 describe-*` prints; the content is
random but fixed by the seed.
"""
import argparse
import json
import os
import random

p = argparse.ArgumentParser()
p.add_argument("hosts", type=int)
p.add_argument("out")
p.add_argument("--seed", type=int, default=7)
a = p.parse_args()
r = random.Random(a.seed)
os.makedirs(a.out, exist_ok=True)


def w(name, obj):
    with open(os.path.join(a.out, name), "w") as f:
        json.dump(obj, f)


vpcs, subnets, tables, acls, groups, igws, instances = [], [], [], [], [], [], []
for v in range(10):
    vpc = f"vpc-{v:017x}"
    base = f"10.{v}"
    vpcs.append({"VpcId": vpc, "CidrBlock": f"{base}.0.0/16", "State": "available"})
    igw = f"igw-{v:017x}"
    igws.append({"InternetGatewayId": igw, "Attachments": [{"State": "available", "VpcId": vpc}]})
    subs = []
    for s in range(8):
        sid = f"subnet-{v:08x}{s:09x}"
        subs.append(sid)
        subnets.append({"SubnetId": sid, "VpcId": vpc, "CidrBlock": f"{base}.{s}.0/24"})
    public, private = subs[:4], subs[4:]
    tables.append({"RouteTableId": f"rtb-{v:08x}000000001", "VpcId": vpc,
                   "Associations": [{"Main": False, "SubnetId": s} for s in public],
                   "Routes": [{"DestinationCidrBlock": f"{base}.0.0/16", "GatewayId": "local", "State": "active"},
                              {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "State": "active"},
                              {"DestinationIpv6CidrBlock": "::/0", "GatewayId": igw, "State": "active"}]})
    tables.append({"RouteTableId": f"rtb-{v:08x}000000002", "VpcId": vpc, "Associations": [{"Main": True}],
                   "Routes": [{"DestinationCidrBlock": f"{base}.0.0/16", "GatewayId": "local", "State": "active"}]})
    entries = []
    for n in range(20):
        port = r.choice([22, 80, 443, 3306, 5432, 6379, 8080, 9000])
        entries.append({"RuleNumber": 10 + n * 10, "Protocol": r.choice(["6", "17", "-1"]),
                        "RuleAction": r.choice(["allow", "allow", "deny"]), "Egress": r.random() < 0.3,
                        "CidrBlock": r.choice(["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", f"{r.randint(1, 223)}.0.0.0/8"]),
                        "PortRange": {"From": port, "To": port + r.choice([0, 0, 10, 1000])}})
    entries += [{"RuleNumber": 32000, "Protocol": "-1", "RuleAction": "allow", "Egress": e, "CidrBlock": "0.0.0.0/0"} for e in (False, True)]
    acls.append({"NetworkAclId": f"acl-{v:017x}", "VpcId": vpc, "IsDefault": True,
                 "Associations": [{"SubnetId": s} for s in subs], "Entries": entries})
    gids = [f"sg-{v:08x}{g:09x}" for g in range(50)]
    for gid in gids:
        perms = []
        for _ in range(r.randint(1, 6)):
            kind = r.random()
            port = r.choice([22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9200, 27017])
            perm = {"IpProtocol": r.choice(["tcp", "tcp", "udp", "-1"]) if kind < 0.95 else "-1",
                    "FromPort": port, "ToPort": port + r.choice([0, 0, 0, 100]),
                    "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}
            if kind < 0.6:
                perm["IpRanges"].append({"CidrIp": r.choice(["0.0.0.0/0", f"{r.randint(1, 223)}.{r.randint(0, 255)}.0.0/16", f"{base}.0.0/16"])})
            elif kind < 0.7:
                perm["Ipv6Ranges"].append({"CidrIpv6": "::/0"})
            elif kind < 0.9:
                perm["UserIdGroupPairs"].append({"GroupId": r.choice(gids)})
            else:
                perm["PrefixListIds"].append({"PrefixListId": "pl-0123456789abcdef0"})
            perms.append(perm)
        groups.append({"GroupId": gid, "GroupName": gid, "VpcId": vpc, "IpPermissions": perms,
                       "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]})
    for i in range(a.hosts // 10 + (1 if v < a.hosts % 10 else 0)):
        iid = f"i-{v:04x}{i:013x}"
        enis = []
        for e in range(r.choice([1, 1, 2])):
            sub = r.choice(subs)
            ip = f"{base}.{subs.index(sub)}.{r.randint(4, 250)}"
            eni = {"NetworkInterfaceId": f"eni-{v:04x}{i:011x}{e:02x}", "SubnetId": sub, "VpcId": vpc,
                   "Attachment": {"DeviceIndex": e}, "Groups": [{"GroupId": g} for g in r.sample(gids, r.randint(1, 3))],
                   "PrivateIpAddress": ip, "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": True}], "Ipv6Addresses": []}
            if r.random() < 0.33:
                pub = f"{r.randint(3, 54)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
                eni["Association"] = {"PublicIp": pub}
            enis.append(eni)
        instances.append({"InstanceId": iid, "State": {"Name": "running"}, "SubnetId": enis[0]["SubnetId"], "VpcId": vpc,
                          "NetworkInterfaces": enis})

w("describe-vpcs.json", {"Vpcs": vpcs})
w("describe-subnets.json", {"Subnets": subnets})
w("describe-route-tables.json", {"RouteTables": tables})
w("describe-network-acls.json", {"NetworkAcls": acls})
w("describe-security-groups.json", {"SecurityGroups": groups})
w("describe-internet-gateways.json", {"InternetGateways": igws})
w("describe-instances.json", {"Reservations": [{"Instances": instances[k:k + 20]} for k in range(0, len(instances), 20)]})
