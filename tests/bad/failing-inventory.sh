#!/bin/sh
# A dynamic inventory that fails.
echo "cannot reach the cloud API" >&2
exit 3
