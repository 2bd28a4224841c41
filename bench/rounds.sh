# Sourced by the benches that take -r ROUNDS and -t SECONDS: their range check, one line each.
check_rounds_secs() {  # check_rounds_secs ROUNDS SECONDS: exits 2 with the reason when out of range
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 100 ] ||
    { echo "-r takes 1-100 rounds" >&2; exit 2; }
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 600 ] ||
    { echo "-t takes 1-600 whole seconds" >&2; exit 2; }
}
