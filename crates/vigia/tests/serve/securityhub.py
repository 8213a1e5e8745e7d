"""AWS Security Hub for the delivery tests: moto's server (PyPI), started
with INITIAL_NO_AUTH_ACTION_COUNT=3 so that every request after the three
below must carry a valid SigV4 signature of a key moto knows, read back with
botocore's own Security Hub client.

    python3 securityhub.py keys URL               # a user, its key, a policy: prints the key
    python3 securityhub.py findings URL AK SK     # every finding imported, as JSON
"""

import json
import sys

import botocore.session

command, url = sys.argv[1:3]
session = botocore.session.get_session()
if command == "keys":
    iam = session.create_client("iam", region_name="us-east-1", endpoint_url=url,
                                aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="vigia")
    key = iam.create_access_key(UserName="vigia")["AccessKey"]
    iam.put_user_policy(UserName="vigia", PolicyName="security-hub", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "securityhub:*", "Resource": "*"}],
    }))
    print(json.dumps({"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}))
elif command == "findings":
    ak, sk = sys.argv[3:5]
    hub = session.create_client("securityhub", region_name="us-east-1", endpoint_url=url,
                                aws_access_key_id=ak, aws_secret_access_key=sk)
    findings, token = [], None
    while True:
        page = hub.get_findings(MaxResults=100, **({"NextToken": token} if token else {}))
        findings += page["Findings"]
        token = page.get("NextToken")
        if not token:
            break
    print(json.dumps({"Findings": findings}, default=lambda o: o.isoformat()))
else:
    sys.exit(f"unknown command {command}")
