#!/usr/bin/env bash
# Runs every test project of the solution and ends with one line: "N passed, N failed, N skipped".
# A test that hangs longer than TEST_HANG_TIMEOUT (default 10m) is stopped, a dump of its process is kept, and it
# counts as failed; so does a test that skips for any reason but the CUDA tests' own ("Needs a CUDA device ...").
# Installs what the tests need from Debian's packages: Prometheus (real server in the metrics tests),
# Fashion-MNIST (real data in the sample tests), fortunes and Node.js with npm's tiktoken (the text tests' reference).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
# StreamingLoader.Images decodes JPEG with Debian's libturbojpeg and checks its transforms against torchvision's.
dpkg -s libturbojpeg0 >/dev/null 2>&1 || need+=(libturbojpeg0)
/usr/bin/python3 -c 'import torchvision' >/dev/null 2>&1 || need+=(python3-torchvision)
# The text tests compare padded batches with torch.nn.utils.rnn.pad_sequence (python3-torch, which torchvision pulls in).
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
# The RabbitMQ source's tests start their own broker on loopback.
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
# StreamingLoader.Text compares its GPT-2 ids with npm's tiktoken under Node, on the fortunes corpus; the sharded-dataset
# tests start npm's s3rver under Node.
[ -d /usr/share/games/fortunes ] || need+=(fortunes)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null || {
    echo "could not install ${need[*]}" >&2
    exit 1
  }
fi

# The sharded-dataset tests start npm's s3rver (an S3-compatible server) on loopback.
s3rver_home="$HOME/.cache/streamingloader/s3rver"
if [ ! -f "$s3rver_home/node_modules/s3rver/bin/s3rver.js" ]; then
  echo "== installing s3rver@3.7 (npm) into $s3rver_home"
  npm install --no-audit --no-fund --prefix "$s3rver_home" s3rver@3.7 >/dev/null || { echo "could not install s3rver" >&2; exit 1; }
fi
# npm's tiktoken, once, into the cache folder the Text tests read it from (they install it themselves if it is missing).
tiktoken_dir="${STREAMINGLOADER_TIKTOKEN_DIR:-$HOME/.cache/streamingloader/tiktoken}"
if ! grep -q '"version": "1.0.22"' "$tiktoken_dir/node_modules/tiktoken/package.json" 2>/dev/null; then
  echo "== installing npm tiktoken 1.0.22 into $tiktoken_dir"
  mkdir -p "$tiktoken_dir" && npm install --prefix "$tiktoken_dir" --no-audit --no-fund --no-save tiktoken@1.0.22 >/dev/null || {
    echo "could not install npm tiktoken" >&2
    exit 1
  }
fi

log=$(mktemp)
dotnet build StreamingLoader.sln -c Release -nologo -v quiet 2>&1 | tee "$log"
build=${PIPESTATUS[0]}
if [ "$build" -ne 0 ]; then
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

results=$(mktemp -d)
dotnet test StreamingLoader.sln -c Release --no-build -nologo \
  --blame-hang-timeout "${TEST_HANG_TIMEOUT:-10m}" --blame-hang-dump-type mini \
  --results-directory "$results" --logger trx 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Sum the per-project summaries ("Passed!  - Failed: 0, Passed: 56, Skipped: 0, Total: 56, ...").
sum() { grep -Eo "$1: +[0-9]+" "$log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}'; }
passed=$(sum Passed) failed=$(sum Failed) skipped=$(sum Skipped)

# A hung (or crashed) test host ends its project's run without failing a test in the summary: VSTest names the test
# that was running ("The test running when the crash occurred:", then its name), and each of those is a failure.
hung=$(awk '/The test running when the crash occurred:/ {on=1; next} on && NF == 0 {on=0} on {print $1}' "$log")
if [ -n "$hung" ]; then
  echo "== hung or crashed (dumps under $results):"
  echo "$hung" | sed 's/^/   /'
  failed=$((failed + $(echo "$hung" | wc -l)))
fi

# Skips: the CUDA tests skip where there is no CUDA device, saying so; any other skip is a failure.
unexpected=$(/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for trx in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    for result in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") == "NotExecuted":
            message = result.find(".//t:Output/t:ErrorInfo/t:Message", ns)
            reason = (message.text or "").strip() if message is not None else ""
            if not reason.startswith("Needs a CUDA device"):
                print(f"{result.get('testName')}: {reason or 'no reason given'}")
PY
)
if [ -n "$unexpected" ]; then
  echo "== skipped for a reason other than a missing CUDA device (counted as failed):"
  echo "$unexpected" | sed 's/^/   /'
  count=$(echo "$unexpected" | wc -l)
  failed=$((failed + count)) skipped=$((skipped - count))
fi

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run broke without a summary or a test to blame: count it as a failure
fi

rm -f "$log"
[ -n "$hung" ] || rm -rf "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
exit "$status"
