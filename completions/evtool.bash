# bash completion for evtool(1)                            -*- shell-script -*-
#
# Install: copy to /usr/share/bash-completion/completions/evtool (or
# ~/.local/share/bash-completion/completions/evtool), or source this file.
# Needs only bash 4; the bash-completion package is not required.
#
# The command tree is data: the three tables below.  A command path is the
# command words joined by spaces ("" is the top level, "timer" a command,
# "NAME SUB" a subcommand of NAME).  To add a command, add its name to the
# subcommands of its parent and one line with its options; to add an alias,
# list it as a subcommand and map it in _evtool_canonical.
# tests/cli/test_docs.py checks these tables against `evtool --dump-cli`.

# Subcommands (and aliases) of a command path.
_evtool_subcommands() {
    case $1 in
        '') echo 'backends timer tcp udp http dns' ;;
        tcp) echo 'echo serve chat forward proxy' ;;
        udp) echo 'echo chat' ;;
        http) echo 'get post serve' ;;
        dns) echo 'resolve lookup serve' ;;
    esac
}

# Options of a command path ("" holds the global options, which are valid
# anywhere).  A trailing "=" marks an option that takes a value.
_evtool_options() {
    case $1 in
        '')       echo '--backend= --avoid= --require= --json -q --quiet -v --verbose -h --help --version' ;;
        backends) echo '--bench --fds= --active= --writes= --rounds= -h --help' ;;
        timer)    echo '--after= --every= --count= --exec= -h --help' ;;
        tcp)      echo '-h --help' ;;
        'tcp echo')  echo '--unix= --bind= --drain-timeout= --max-conns= --idle-timeout= --rate= --group-rate= --threads= --tls --cert= --key= -h --help' ;;
        'tcp serve') echo '--unix= --bind= --drain-timeout= --max-conns= --idle-timeout= --rate= --group-rate= --threads= --tls --cert= --key= --max-line= --max-queue= -h --help' ;;
        'tcp chat')  echo '--unix= --connect-timeout= --tls -k --insecure --cacert= --servername= -h --help' ;;
        'tcp forward') echo '--unix= --bind= --drain-timeout= --max-conns= --idle-timeout= --rate= --group-rate= --threads= --tls --cert= --key= --connect-timeout= --to-tls -k --insecure --cacert= --servername= -h --help' ;;
        udp)         echo '-h --help' ;;
        'udp echo')  echo '--bind= --drain-timeout= --threads= -h --help' ;;
        'udp chat')  echo '--wait= --binary -h --help' ;;
        http)        echo '-h --help' ;;
        'http get')  echo '-H= --header= -o= --output= -i --include -I --head -X= --request= -L --location --max-redirs= -f --fail --timeout= --connect-timeout= --unix-socket= --retries= -k --insecure --cacert= -h --help' ;;
        'http serve') echo '-p= --port= --unix= --bind= --drain-timeout= --threads= --max-conns= --timeout= --min-rate= --max-header= --max-body= --no-listing --index= --echo= --tls --cert= --key= -h --help' ;;
        'http post') echo '-H= --header= -o= --output= -i --include -X= --request= -L --location --max-redirs= -f --fail --timeout= --connect-timeout= --unix-socket= --retries= -k --insecure --cacert= -d= --data= --data-binary= -F= --form= --content-type= -h --help' ;;
        dns)         echo '-h --help' ;;
        'dns resolve') echo '-t= --type= -x --reverse --server= -p= --port= -4 -6 --resolv-conf= --hosts= --no-hosts --no-search --timeout= --tries= --tcp --short -f= --file= --max-inflight= -h --help' ;;
        'dns serve') echo '-p= --port= --unix= --bind= --drain-timeout= --zone= --record= --hosts= --ttl= --forward= -h --help' ;;
    esac
}

# The path an alias stands for (aliases share their command's options).
_evtool_canonical() {
    case $1 in
        'dns lookup') echo 'dns resolve' ;;
        'tcp proxy') echo 'tcp forward' ;;
        *) echo "$1" ;;
    esac
}

# Sets COMPREPLY to the values of option $1 that start with $2.
_evtool_values() {
    case $1 in
        --backend | --avoid) COMPREPLY=($(compgen -W 'epoll poll select' -- "$2")) ;;
        --require)           COMPREPLY=($(compgen -W 'ET O1 FDS' -- "$2")) ;;
        --exec)              COMPREPLY=($(compgen -c -- "$2")) ;;
        -t | --type)         COMPREPLY=($(compgen -W 'A AAAA CNAME MX TXT NS SOA SRV PTR CAA ANY' -- "$2")) ;;
        --resolv-conf | --hosts | --zone | -f | --file) COMPREPLY=($(compgen -f -- "$2")) ;;
        -o | --output | --cacert | --cert | --key | --index | --unix | --unix-socket) COMPREPLY=($(compgen -f -- "$2")) ;;
        -X | --request)      COMPREPLY=($(compgen -W 'GET HEAD POST PUT PATCH DELETE OPTIONS' -- "$2")) ;;
        *)                   COMPREPLY=() ;;  # durations, counts: free text
    esac
}

# Sets COMPREPLY to the positional arguments at command path $1 that start
# with $2; fails where they are free text (ports, URLs, names), so that the
# options are offered instead.
_evtool_arguments() {
    case $1 in
        'http serve') COMPREPLY=($(compgen -d -- "$2")) ;;  # DIR
        *) return 1 ;;
    esac
}

# Succeeds when option $2 takes a value at command path $1.
_evtool_takes_value() {
    local option
    for option in $(_evtool_options "$1") $(_evtool_options ''); do
        [[ $option == "$2=" ]] && return 0
    done
    return 1
}

_evtool() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local path='' value_for='' word child i
    COMPREPLY=()

    # Walk the words before the cursor: options (and their values) are
    # skipped, and each word naming a subcommand descends the tree.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -n $value_for ]]; then
            # "--opt=value" arrives as three words when "=" breaks words.
            [[ $word == = ]] || value_for=''
            continue
        fi
        case $word in
            --*=* | =) ;;
            -*) _evtool_takes_value "$path" "$word" && value_for=$word ;;
            *)
                for child in $(_evtool_subcommands "$path"); do
                    if [[ $word == "$child" ]]; then
                        path=$(_evtool_canonical "${path:+$path }$word")
                        break
                    fi
                done
                ;;
        esac
    done

    if [[ -n $value_for ]]; then
        [[ $cur == = ]] && cur=''
        _evtool_values "$value_for" "$cur"
        return 0
    fi

    local children
    children=$(_evtool_subcommands "$path")
    if [[ $cur != -* && -n $children ]]; then
        COMPREPLY=($(compgen -W "$children" -- "$cur"))
        return 0
    fi
    if [[ $cur != -* ]] && _evtool_arguments "$path" "$cur"; then
        return 0
    fi

    # The options of this command, then the global ones it does not repeat.
    local -a options=()
    local option
    for option in $(_evtool_options "$path") $(_evtool_options ''); do
        option=${option%=}
        [[ " ${options[*]} " == *" $option "* ]] || options+=("$option")
    done
    COMPREPLY=($(compgen -W "${options[*]}" -- "$cur"))
    return 0
}

complete -F _evtool evtool
