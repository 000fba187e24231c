#!/usr/bin/env bash
# mig_cli.sh — integration checks of `allot mig …`: every subcommand's output, its -o json
# (parsed with jq) and its exit code (0 ok, 1 no, 2 usage, 3 failure). One ok/not ok per check.
set -u
: "${ALLOT:?set ALLOT to the allot binary}"
command -v jq >/dev/null || { echo "not ok - jq is installed (scripts/deps.sh test)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run ARGS...: allot mig ARGS, stdout in $tmp/out, stderr in $tmp/err, exit code in $rc.
run() {
    "$ALLOT" mig "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
# check WHAT COMMAND...: ok when COMMAND succeeds; otherwise not ok and the last output.
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        echo "#   rc=$rc"
        sed 's/^/#   out: /' "$tmp/out" | head -15
        sed 's/^/#   err: /' "$tmp/err" | head -15
    fi
}
rc_is() { [ "$rc" -eq "$1" ]; }
out_has() { grep -Eq -- "$1" "$tmp/out"; }
err_has() { grep -Eq -- "$1" "$tmp/err"; }
jqe() { jq -e "$1" "$tmp/out" >/dev/null 2>&1; }

# --- models
run models
check "models: exit 0" rc_is 0
check "models: H100-80GB with MIG, 8 units, 7 slices" out_has '^H100-80GB +yes +80GB +8 +7 +7 '
check "models: A30 has 4 placement units" out_has '^A30-24GB +yes +24GB +4 +4 '
check "models: unverified facts are shown" out_has 'UNVERIFIED'
check "models: a model without MIG" out_has '^L4-24GB +no '
run models -o json
check "models -o json: valid JSON, many models" jqe '.models | length >= 10'
check "models -o json: H100-80GB fields" \
    jqe '.models[] | select(.name == "H100-80GB") | .mig == true and .units == 8 and
         .compute_slices == 7 and .profile_count == 7 and (.pci_ids | index("0x233010DE"))'
check "models -o json: unverified notes present" \
    jqe '[.models[] | select(.unverified != null)] | length > 0'

# --- profiles
run profiles H100-80GB
check "profiles: exit 0" rc_is 0
check "profiles: 3g.40gb id 9, 3 slices, 39.50 GiB, size 4, starts 0,4, max 2" \
    out_has '^3g\.40gb +9 +3 +39\.50 +4 +0,4 +2 '
check "profiles: +me attribute" out_has '^1g\.10gb\+me +20 .* me '
run profiles h100 -o json
check "profiles -o json: lenient model name, 7 profiles" \
    jqe '.model == "H100-80GB" and (.profiles | length) == 7'
check "profiles -o json: 1g.20gb fields" \
    jqe '.profiles[] | select(.name == "1g.20gb") | .nvml_id == 15 and .size == 2 and
         .starts == [0,2,4,6] and .max_count == 4 and .compute_slices == 1'
run profiles H100-80GB
check "profiles: every H100-80GB fact confirmed" \
    eval '[ "$(grep -Ec "^[0-9]g\.[0-9]+gb.* confirmed +- *$" "$tmp/out")" -eq 7 ]'
run profiles GB200
check "profiles: GB200's earlier driver names shown" out_has '^3g\.93gb +9 .* also 3g\.95gb'
check "profiles: GB200 confidence marks" out_has '^3g\.93gb .* inferred: mem; not found: sms place '
run profiles B200 -o json
check "profiles -o json: B200 3g.90gb confidence per fact" \
    jqe '.profiles[] | select(.name == "3g.90gb") | .confidence == {"id": "confirmed",
         "memory": "inferred", "sms": "secondary", "placements": "inferred"}'
run profiles GB200 -o json
check "profiles -o json: GB200 aliases" \
    jqe '[.profiles[] | select(.name == "7g.186gb") | .aliases] == [["7g.189gb"]]'
run models -o json
check "models -o json: profile confidence counts" \
    jqe '(.models[] | select(.name == "H100-80GB") | .profile_confidence.confirmed == 7) and
         (.models[] | select(.name == "B300-288GB") | .profile_confidence.not_found == 7)'
run profiles A30
check "profiles: A30's 2g.12gb has id 5 and starts 0,2" out_has '^2g\.12gb +5 +2 .* +2 +0,2 +2 '
run profiles L4-24GB
check "profiles: model without MIG exits 1" rc_is 1
run profiles NoSuchGPU
check "profiles: unknown model exits 2" rc_is 2
check "profiles: unknown model lists the known names" err_has 'known models:.*H100-80GB'

# --- validate
run validate H100-80GB 3g.40gb@0,2g.20gb@4,1g.10gb@6
check "validate: valid layout exits 0" rc_is 0
check "validate: prints it canonically" out_has '^valid: 3g\.40gb@0,2g\.20gb@4,1g\.10gb@6 '
run validate H100-80GB 3g.40gb@2
check "validate: bad start exits 1" rc_is 1
check "validate: bad start reason on stderr" err_has 'start 2 not allowed'
run validate H100-80GB 3g.40gb@0,2g.20gb@2
check "validate: overlap exits 1 with reason" eval 'rc_is 1 && err_has overlap'
run validate H100-80GB 4g.40gb@0,3g.40gb@4,1g.10gb@6
check "validate: overlapping 1g on a full GPU exits 1" rc_is 1
run validate H100-80GB 3g.40gb
check "validate: a profile without start exits 1" eval 'rc_is 1 && err_has "no start"'
run validate H100-80GB 9g.99gb@0 -o json
check "validate -o json: unknown profile is invalid with reason" \
    eval 'rc_is 1 && jqe ".valid == false and (.reason | test(\"9g.99gb\"))"'
run validate H100-80GB none -o json
check "validate -o json: empty layout is valid" eval 'rc_is 0 && jqe ".valid == true"'
run validate A100-40GB 1g.5gb+me@0,1g.5gb+me@1
check "validate: two +me instances exit 1" rc_is 1

# --- layouts
run layouts A100-40GB --profiles 1g.5gb,2g.10gb,3g.20gb,4g.20gb,7g.40gb --maximal --count
check "layouts: A100-40GB has 19 maximal layouts of the 5 original profiles" \
    eval 'rc_is 0 && out_has "^19$"'
run layouts A100-40GB --profiles 1g.5gb,2g.10gb,3g.20gb,4g.20gb,7g.40gb --count
check "layouts: and 297 valid non-empty ones" out_has '^297$'
run layouts H100-80GB --profiles 1g.10gb,2g.20gb,3g.40gb,4g.40gb,7g.80gb --maximal
check "layouts: table lists 4g+3g and ends with the count" \
    eval 'out_has "4g\.40gb@0,3g\.40gb@4" && out_has "^19 maximal layouts of H100-80GB$"'
run layouts H100-80GB --maximal -o json
check "layouts -o json: count equals the list's length" \
    jqe '.maximal == true and .count == (.layouts | length) and .count > 19'
run layouts H100-80GB --profiles 5g.50gb
check "layouts: unknown profile in --profiles exits 2" rc_is 2

# --- place
run place H100-80GB 3g.40gb 2g.20gb 1g.10gb
check "place: exit 0 with a layout line" eval 'rc_is 0 && out_has "^layout: "'
placed=$(sed -n 's/^layout: //p' "$tmp/out")
run validate H100-80GB "$placed"
check "place: the placed layout validates" rc_is 0
run place H100-80GB 3g.40gb@4 1g.10gb -o json
check "place -o json: a fixed start is kept" \
    eval 'rc_is 0 && jqe ".placed == true and ([.layout.placements[] |
          select(.profile == \"3g.40gb\") | .start] == [4])"'
run place H100-80GB 3g.40gb 3g.40gb 1g.10gb
check "place: no fit exits 1 with the reason" eval 'rc_is 1 && err_has "no placement"'
run place H100-80GB 4g.40gb 4g.40gb -o json
check "place -o json: no fit gives placed false and a reason" \
    eval 'rc_is 1 && jqe ".placed == false and (.reason | length > 0)"'
run place H100-80GB bogus
check "place: unknown profile exits 2" rc_is 2

# --- diff
run diff H100-80GB 3g.40gb@0,3g.40gb@4 3g.40gb@0,2g.20gb@4,1g.10gb@6
check "diff: exit 0" rc_is 0
check "diff: destroy first, then creates" \
    eval 'out_has "^1 +destroy +3g\.40gb@4$" && out_has "^2 +create " && out_has "^3 +create "'
check "diff: the kept 3g.40gb@0 is not touched" eval '! out_has "(destroy|create) +3g\.40gb@0"'
check "diff: names what it keeps" out_has '^kept: 3g\.40gb@0$'
run diff H100-80GB 7g.80gb@0 1g.10gb,1g.10gb -o json
check "diff -o json: steps with op, profile, start" \
    jqe '.steps[0] == {"op":"destroy","profile":"7g.80gb","start":0} and (.steps | length) == 3
         and .kept == "none"
         and ([.steps[1:][] | .op] | all(. == "create"))'
run diff H100-80GB 3g.40gb@0 3g.40gb@0
check "diff: same layout is no change" eval 'rc_is 0 && out_has "^no change$"'
run diff H100-80GB 3g.40gb@1 none
check "diff: invalid FROM exits 1" eval 'rc_is 1 && err_has "FROM"'

# --- pick
run pick H100-80GB --min-memory 30GB
check "pick: 30GB on H100 is 3g.40gb" eval 'rc_is 0 && out_has "^3g\.40gb "'
run pick H100-80GB --min-memory 15GiB -o json
check "pick -o json: 15GiB is 1g.20gb" jqe '.profile.name == "1g.20gb" and .min_memory_bytes == 16106127360'
run pick A30 --min-memory 5GiB --plain
check "pick --plain: A30 5GiB is 1g.6gb" out_has '^1g\.6gb '
run pick H100-80GB --min-memory 100GB
check "pick: nothing large enough exits 1" rc_is 1
run pick H100-80GB --min-memory lots
check "pick: bad size exits 2" rc_is 2
run pick H100-80GB
check "pick: --min-memory is required (exit 2)" rc_is 2

# --- export-mig-parted
run export-mig-parted H100-80GB 3g.40gb,2g.20gb,1g.10gb,1g.10gb --name balanced
check "export: exit 0" rc_is 0
cat >"$tmp/want.yaml" <<'EOF'
version: v1
mig-configs:
  balanced:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "2g.20gb": 1
        "3g.40gb": 1
EOF
check "export: the exact mig-parted v1 text" cmp -s "$tmp/out" "$tmp/want.yaml"
cp "$tmp/out" "$tmp/balanced.yaml"
run export-mig-parted H100-80GB none --device-filter
check "export: empty layout and device filter" \
    eval 'out_has "mig-devices: \{\}" && out_has "device-filter: \[\"0x233010DE\""'
run export-mig-parted H100-80GB 3g.40gb@0,3g.40gb@4 -o json
check "export -o json: mig-parted config as JSON" \
    jqe '.version == "v1" and .["mig-configs"].allot[0]["mig-devices"]["3g.40gb"] == 2'
run export-mig-parted H100-80GB 3g.40gb --name 'bad name'
check "export: bad --name exits 2" eval 'rc_is 2 && err_has "config name"'
run export-mig-parted H100-80GB 4g.40gb,4g.40gb
check "export: a layout that cannot be placed exits 1" rc_is 1

# --- import-mig-parted
run import-mig-parted H100-80GB "$tmp/balanced.yaml"
check "import: round trip of the export places it" \
    eval 'rc_is 0 && out_has "^balanced +0 +all +placed +"'
imported=$(awk '$4 == "placed" {print $5}' "$tmp/out")
run validate H100-80GB "$imported"
check "import: the imported layout validates" rc_is 0
cat >"$tmp/fleet.yaml" <<'EOF'
version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  all-balanced:
    - device-filter: ["0x20B010DE", "0x20B110DE"]
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.5gb": 2
        "2g.10gb": 1
        "3g.20gb": 1
    - device-filter: "0x233010DE"
      devices: all
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "2g.20gb": 1
        "3g.40gb": 1
  too-big:
    - devices: [0, 1]
      mig-enabled: true
      mig-devices:
        "4g.40gb": 1
        "7g.80gb": 1
EOF
run import-mig-parted H100-80GB "$tmp/fleet.yaml" --name all-balanced
check "import --name: the A100 entry is skipped, the H100 entry placed" \
    eval 'rc_is 0 && out_has "^all-balanced +0 .* skipped" && out_has "^all-balanced +1 .* placed"'
run import-mig-parted H100-80GB "$tmp/fleet.yaml" -o json
check "import -o json: counts and statuses" \
    jqe '.placed == 1 and .mig_disabled == 1 and .skipped == 1 and .failed == 1 and
         ([.configs[] | select(.name == "too-big") | .entries[0].status] == ["no-fit"])'
check "import: an entry that does not fit makes exit 1" rc_is 1
run import-mig-parted A100-40GB "$tmp/fleet.yaml" --name all-balanced -o json
check "import -o json: A100 entry placed on A100-40GB" \
    jqe '.configs[0].entries[0].status == "placed" and .configs[0].entries[0].layout.instances == 4'
run import-mig-parted H100-80GB "$tmp/fleet.yaml" --name nope
check "import: unknown label exits 1 listing labels" eval 'rc_is 1 && err_has "all-balanced"'
printf 'version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"1g.5gb": 1}\n' >"$tmp/a100only.yaml"
run import-mig-parted H100-80GB "$tmp/a100only.yaml"
check "import: a label for another GPU is skipped; nothing applies, exit 1" \
    eval 'rc_is 1 && out_has "skipped +names no profile of H100-80GB \(1g\.5gb"'
run import-mig-parted H100-80GB "$tmp/a100only.yaml" --name x
check "import --name: a profile the model lacks is an error naming it, exit 1" \
    eval 'rc_is 1 && out_has "invalid +profile .1g\.5gb.: unknown on H100-80GB"'
# GB200's early driver named 1g.23gb and 3g.93gb "1g.24gb" and "3g.95gb": a config written then
# is this GPU's (not skipped as another's) and imports as the canonical profiles
printf 'version: v1\nmig-configs:\n  old:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"1g.24gb": 2, "3g.95gb": 1}\n' >"$tmp/gb200old.yaml"
run import-mig-parted GB200 "$tmp/gb200old.yaml"
check "import: a GB200 config with the early names places the canonical profiles" \
    eval 'rc_is 0 && out_has "^old +0 +all +placed +1g\.23gb@0,1g\.23gb@1,3g\.93gb@4"'
printf 'version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"1g.10gb": 1, "1g.5gb": 1}\n' >"$tmp/mixed.yaml"
run import-mig-parted H100-80GB "$tmp/mixed.yaml"
check "import: an entry mixing known and unknown profiles is invalid" \
    eval 'rc_is 1 && out_has "invalid .*1g\.5gb"'
printf 'version: v2\nmig-configs: {}\n' >"$tmp/v2.yaml"
run import-mig-parted H100-80GB "$tmp/v2.yaml"
check "import: version other than v1 exits 1" eval 'rc_is 1 && err_has "unknown version"'
printf 'version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n      mig-devices: {"1g.10gb": 8}\n' >"$tmp/bad.yaml"
run import-mig-parted H100-80GB "$tmp/bad.yaml"
check "import: count over 7 rejected with its line" eval 'rc_is 1 && err_has "line 6: .*over 7"'
printf 'version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: false\n      colour: red\n' >"$tmp/bad2.yaml"
run import-mig-parted H100-80GB "$tmp/bad2.yaml"
check "import: unknown field rejected" eval 'rc_is 1 && err_has "unknown field .colour."'
head -c 1100000 /dev/zero | tr '\0' '#' >"$tmp/huge.yaml"
run import-mig-parted H100-80GB "$tmp/huge.yaml"
check "import: a file over 1 MiB is refused" eval 'rc_is 1 && err_has "larger than"'
run import-mig-parted H100-80GB "$tmp/does-not-exist.yaml"
check "import: unreadable file exits 3" rc_is 3
"$ALLOT" mig import-mig-parted H100-80GB - <"$tmp/balanced.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "import: reads stdin with -" eval 'rc_is 0 && out_has placed'

# --- usage and help
run
check "mig without a command exits 2" rc_is 2
run frobnicate
check "unknown mig command exits 2" rc_is 2
for c in models profiles validate layouts place diff pick export-mig-parted import-mig-parted; do
    run "$c" --help
    check "$c --help exits 0 with usage" eval 'rc_is 0 && out_has "^usage: allot mig $c"'
done
run models --bogus
check "unknown option exits 2" rc_is 2
run models -o yaml
check "bad -o value exits 2" rc_is 2
run validate H100-80GB
check "missing argument exits 2" rc_is 2
no_escape() { ! grep -q $'\e' "$tmp/out" "$tmp/err"; }
run profiles $'\e[31mred'
check "unknown model: its name echoed without terminal escapes" eval 'rc_is 2 && no_escape'
run layouts H100-80GB --profiles $'x\e[1m'
check "bad --profiles: echoed without terminal escapes" eval 'rc_is 2 && no_escape'
printf 'version: "\\e[2J"\nmig-configs: {}\n' >"$tmp/esc.yaml"
run import-mig-parted H100-80GB "$tmp/esc.yaml"
check "a config's text is quoted without terminal escapes" eval 'rc_is 1 && err_has "unknown version" && no_escape'

# --- the README's examples really work: each "$ allot mig …" line of its MIG section runs with
# the exit code it states (0 unless "# exit N"), and prints exactly the lines shown under it.
mkdir -p "$tmp/bin" "$tmp/readme"
allot_abs=$(cd "$(dirname "$ALLOT")" && pwd)/$(basename "$ALLOT")
printf '#!/bin/sh\nexec "%s" "$@"\n' "$allot_abs" >"$tmp/bin/allot"
chmod +x "$tmp/bin/allot"
sed -n '/^## The MIG engine: `allot mig`/,/^## /p' "${AL_ROOT:-.}/README.md" |
    awk -v dir="$tmp/readme" '
        /^    \$ allot mig / { n++; f = sprintf("%s/%03d", dir, n); print substr($0, 7) > (f ".cmd");
                               printf "" > (f ".want"); next }
        /^    / && n && !/^    \$/ { print substr($0, 5) >> (f ".want"); next }
        { if (n) close(f ".want") }'
examples=0
for cmdf in "$tmp"/readme/*.cmd; do
    [ -f "$cmdf" ] || continue
    examples=$((examples + 1))
    line=$(cat "$cmdf")
    want_rc=0
    case "$line" in *"# exit "[0-9]*) want_rc=${line##*# exit } ;; esac
    want_rc=${want_rc%% *}
    (cd "$tmp/readme" && PATH="$tmp/bin:$PATH" bash -c "$line") >"$tmp/out" 2>&1
    rc=$?
    : >"$tmp/err"
    if [ -s "${cmdf%.cmd}.want" ]; then
        check "README example: $line" eval 'rc_is $want_rc && diff -u "${cmdf%.cmd}.want" "$tmp/out" >/dev/null'
    else
        check "README example: $line" rc_is "$want_rc"
    fi
done
rc=$examples
check "README has MIG examples" eval '[ "$examples" -ge 8 ]'
