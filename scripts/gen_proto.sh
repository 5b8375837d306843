#!/usr/bin/env bash
# Regenerate the gRPC stubs of the Open Inference Protocol from
# src/augur/serving/proto/grpc_predict_v2.proto. The generated files are
# committed; run this after editing the .proto. The exact command:
#
#   .venv/bin/python -m grpc_tools.protoc -I src/augur/serving/proto \
#     --python_out=src/augur/serving/proto --pyi_out=src/augur/serving/proto \
#     --grpc_python_out=src/augur/serving/proto src/augur/serving/proto/grpc_predict_v2.proto
#
# followed by three edits: the stub's import is made package-absolute (protoc writes
# `import grpc_predict_v2_pb2`, which only works with the folder on sys.path), and
# the messages are built in a descriptor pool of their own instead of protobuf's
# default pool, because clients such as tritonclient register the same
# `inference.*` names there and two definitions of one name cannot share a pool;
# and the .pyi is marked for mypy to skip (protobuf ships no type stubs).
set -euo pipefail
cd "$(dirname "$0")/.."
PROTO_DIR=src/augur/serving/proto
PY=${PYTHON:-.venv/bin/python}
"$PY" -m grpc_tools.protoc -I "$PROTO_DIR" \
  --python_out="$PROTO_DIR" --pyi_out="$PROTO_DIR" \
  --grpc_python_out="$PROTO_DIR" "$PROTO_DIR/grpc_predict_v2.proto"
sed -i 's/^import grpc_predict_v2_pb2 as /from augur.serving.proto import grpc_predict_v2_pb2 as /' \
  "$PROTO_DIR/grpc_predict_v2_pb2_grpc.py"
sed -i 's/^DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(/POOL = _descriptor_pool.DescriptorPool()\nDESCRIPTOR = POOL.AddSerializedFile(/' \
  "$PROTO_DIR/grpc_predict_v2_pb2.py"
# protobuf ships no type stubs, so mypy sees Message as Any in the generated .pyi.
sed -i '1i # mypy: ignore-errors' "$PROTO_DIR/grpc_predict_v2_pb2.pyi"
grep -q '^POOL = _descriptor_pool.DescriptorPool()' "$PROTO_DIR/grpc_predict_v2_pb2.py"
echo "regenerated stubs in $PROTO_DIR"
