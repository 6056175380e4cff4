# check.sh - sourced by the snapshot tests: `check NAME STATUS TEXT ARGS...`
# runs $run ARGS and wants exit status STATUS and TEXT in its output; it
# counts failures in $fails.
fails=0
check() {
	local name=$1 want=$2 text=$3
	shift 3
	out=$("$run" "$@" 2>&1)
	st=$?
	if [[ $st -eq $want && $out == *"$text"* ]]; then
		echo "ok - $name: status $st, '$text'"
	else
		echo "not ok - $name: status $st (want $want), output:"
		echo "$out" | tail -5
		fails=$((fails + 1))
	fi
}
