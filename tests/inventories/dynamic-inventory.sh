#!/bin/sh
# A dynamic inventory: `--list` prints the groups and `_meta.hostvars` as JSON.
case "$1" in
  --list) ;;
  *) echo '{}'; exit 0 ;;
esac
cat <<'JSON'
{
  "web": {"hosts": ["web1", "web2"], "vars": {"http_port": 8080, "tls": true}},
  "db": {"hosts": ["db1"], "children": ["replicas"]},
  "replicas": ["db2"],
  "prod": {"children": ["web", "db"], "vars": {"env": "prod", "ansible_group_priority": 3}},
  "_meta": {"hostvars": {
    "web1": {"ansible_host": "10.0.0.1", "weight": 1.5},
    "db1": {"ansible_user": "postgres", "tags": ["a", "b"]}
  }}
}
JSON
