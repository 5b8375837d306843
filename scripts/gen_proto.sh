#!/usr/bin/env bash
# Regenerate the gRPC stubs of the Open Inference Protocol from
# src/augur/serving/proto/grpc_predict_v2.proto. The generated files are
# committed; run this after editing the .proto. The exact command:
#
#   .venv/bin/python -m grpc_tools.protoc -I src/augur/serving/proto \
#     --python_out=src/augur/serving/proto --pyi_out=src/augur/serving/proto \
#     --grpc_python_out=src/augur/serving/proto src/augur/serving/proto/grpc_predict_v2.proto
#
# followed by making the stub's import package-relative (protoc writes
# `import grpc_predict_v2_pb2`, which only works with the folder on sys.path).
set -euo pipefail
cd "$(dirname "$0")/.."
PROTO_DIR=src/augur/serving/proto
PY=${PYTHON:-.venv/bin/python}
"$PY" -m grpc_tools.protoc -I "$PROTO_DIR" \
  --python_out="$PROTO_DIR" --pyi_out="$PROTO_DIR" \
  --grpc_python_out="$PROTO_DIR" "$PROTO_DIR/grpc_predict_v2.proto"
sed -i 's/^import grpc_predict_v2_pb2 as /from augur.serving.proto import grpc_predict_v2_pb2 as /' \
  "$PROTO_DIR/grpc_predict_v2_pb2_grpc.py"
echo "regenerated stubs in $PROTO_DIR"
