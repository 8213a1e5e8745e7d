"""S3 for the export tests, through botocore's own client against moto's
server (PyPI).

    python3 s3.py URL mkbucket NAME
    python3 s3.py URL list NAME PREFIX      # the keys under PREFIX, as JSON
    python3 s3.py URL get NAME KEY          # the object's bytes
"""

import json
import sys

import botocore.session

url, command = sys.argv[1:3]
s3 = botocore.session.get_session().create_client(
    "s3", region_name="us-east-1", endpoint_url=url,
    aws_access_key_id="testing", aws_secret_access_key="testing")
if command == "mkbucket":
    s3.create_bucket(Bucket=sys.argv[3])
elif command == "list":
    page = s3.list_objects_v2(Bucket=sys.argv[3], Prefix=sys.argv[4])
    print(json.dumps(sorted(o["Key"] for o in page.get("Contents", []))))
elif command == "get":
    sys.stdout.buffer.write(s3.get_object(Bucket=sys.argv[3], Key=sys.argv[4])["Body"].read())
else:
    sys.exit(f"unknown command {command}")
