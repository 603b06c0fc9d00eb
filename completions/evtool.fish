# fish completion for evtool(1).
#
# Install: copy to ~/.config/fish/completions/evtool.fish (or to
# /usr/share/fish/vendor_completions.d/).
#
# A command path is the command words joined by spaces ("" is the top level,
# "timer" a command, "NAME SUB" a subcommand of NAME).  __evtool_path works
# out the path the command line has reached, so each completion below names
# the path it belongs to; unlike __fish_seen_subcommand_from, this keeps two
# subcommands of the same name under different commands apart.  To add a
# command: add it to __evtool_subcommands, list its options that take a value
# in __evtool_value_options, and add its `complete` lines.
# tests/cli/test_docs.py checks this file against `evtool --dump-cli`.

# Subcommands (and aliases) of a command path.
function __evtool_subcommands
    switch "$argv[1]"
        case ''
            echo backends
            echo timer
            echo tcp
            echo udp
            echo http
            echo dns
        case http
            echo get
            echo post
            echo serve
        case dns
            echo resolve
            echo lookup
            echo serve
        case tcp
            echo echo
            echo serve
            echo chat
            echo forward
            echo proxy
        case udp
            echo echo
            echo chat
    end
end

# The path an alias stands for.
function __evtool_canonical
    switch "$argv[1]"
        case 'dns lookup'
            echo 'dns resolve'
        case 'tcp proxy'
            echo 'tcp forward'
        case '*'
            echo $argv[1]
    end
end

# Options that take a value, at a command path ("" is the global options).
function __evtool_value_options
    switch "$argv[1]"
        case ''
            echo --backend
            echo --avoid
            echo --require
        case backends
            echo --fds
            echo --active
            echo --writes
            echo --rounds
        case timer
            echo --after
            echo --every
            echo --count
            echo --exec
        case 'tcp echo' 'tcp serve'
            echo --bind
            echo --drain-timeout
            echo --max-conns
            echo --idle-timeout
            echo --rate
            echo --group-rate
            echo --threads
            echo --cert
            echo --key
            test "$argv[1]" = 'tcp serve'; and echo --max-line; and echo --max-queue
        case 'tcp chat'
            echo --connect-timeout
            echo --cacert
            echo --servername
        case 'tcp echo' 'tcp serve' 'tcp forward'
            for option in --unix --bind --drain-timeout --max-conns --idle-timeout --rate --group-rate --threads --cert --key
                echo $option
            end
            test "$argv[1]" = 'tcp serve'; and echo --max-line; and echo --max-queue
            test "$argv[1]" = 'tcp forward'; and echo --connect-timeout; and echo --cacert
        case 'tcp chat'
            echo --unix
            echo --connect-timeout
            echo --cacert
        case 'udp echo'
            echo --bind
            echo --drain-timeout
            echo --threads
        case 'udp chat'
            echo --wait
        case 'http get' 'http post'
            for option in -H --header -o --output -X --request --max-redirs --timeout --connect-timeout --unix-socket --retries --cacert
                echo $option
            end
            if test "$argv[1]" = 'http post'
                for option in -d --data --data-binary -F --form --content-type
                    echo $option
                end
            end
        case 'http serve'
            for option in -p --port --unix --bind --drain-timeout --threads --max-conns --timeout --min-rate --max-header --max-body --index --echo --cert --key
                echo $option
            end
        case 'dns resolve'
            echo -t
            echo --type
            echo --server
            echo -p
            echo --port
            echo --resolv-conf
            echo --hosts
            echo --timeout
            echo --tries
            echo -f
            echo --file
            echo --max-inflight
        case 'dns serve'
            echo -p
            echo --port
            echo --unix
            echo --bind
            echo --drain-timeout
            echo --zone
            echo --record
            echo --hosts
            echo --ttl
            echo --forward
    end
end

function __evtool_path
    set -l path ''
    set -l skip 0
    set -l words (commandline -opc)
    for word in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '--*=*'
            case '-*'
                if contains -- $word (__evtool_value_options $path) (__evtool_value_options '')
                    set skip 1
                end
            case '*'
                if contains -- $word (__evtool_subcommands $path)
                    set path (__evtool_canonical (string trim -- "$path $word"))
                end
        end
    end
    echo $path
end

# Succeeds when the command line is at command path $argv[1].
function __evtool_at
    test (__evtool_path) = "$argv[1]"
end

complete -c evtool -f

# Global options, valid before or after the command.
complete -c evtool -l backend -x -a 'epoll poll select' -d 'Use this event backend'
complete -c evtool -l avoid -x -a 'epoll poll select' -d 'Never use this backend (repeatable)'
complete -c evtool -l require -x -a 'ET\t"edge-triggered events" O1\t"O(1) add, delete, dispatch" FDS\t"any file descriptor"' -d 'Use only a backend with this feature'
complete -c evtool -l json -d 'Machine-readable output on stdout'
complete -c evtool -s q -l quiet -d 'No diagnostics or logs, data only'
complete -c evtool -s v -l verbose -d 'Diagnostics on stderr'
complete -c evtool -s h -l help -d 'Show help and exit'
complete -c evtool -l version -d 'Print the version, default backend and OpenSSL version'

# Commands.
complete -c evtool -n '__evtool_at ""' -a backends -d 'List the event backends, or benchmark them'
complete -c evtool -n '__evtool_at ""' -a timer -d 'Run a one-shot or periodic timer'
complete -c evtool -n '__evtool_at ""' -a tcp -d 'TCP echo server, chat server, chat client and port forwarder'
complete -c evtool -n '__evtool_at ""' -a udp -d 'UDP echo server and datagram client'
complete -c evtool -n '__evtool_at ""' -a http -d 'Static file server and curl-like client'
complete -c evtool -n '__evtool_at ""' -a dns -d 'Resolve names and serve zones'

# evtool backends
complete -c evtool -n '__evtool_at backends' -l bench -d 'Run the dispatch benchmark on every available backend'
complete -c evtool -n '__evtool_at backends' -l fds -x -d 'Socket pairs in the benchmark (default 1000)'
complete -c evtool -n '__evtool_at backends' -l active -x -d 'Active socket pairs (default 100)'
complete -c evtool -n '__evtool_at backends' -l writes -x -d 'Writes per round (default 1000)'
complete -c evtool -n '__evtool_at backends' -l rounds -x -d 'Timed rounds (default 25)'

# evtool timer
complete -c evtool -n '__evtool_at timer' -l after -x -d 'Time until the first tick (500ms, 1.5s, 2m)'
complete -c evtool -n '__evtool_at timer' -l every -x -d 'Tick periodically with this period'
complete -c evtool -n '__evtool_at timer' -l count -x -d 'Stop after this many ticks'
complete -c evtool -n '__evtool_at timer' -l exec -x -a '(__fish_complete_command)' -d 'Run this shell command at every tick'

# evtool tcp
complete -c evtool -n '__evtool_at tcp' -a echo -d 'Echo every byte back to its sender'
complete -c evtool -n '__evtool_at tcp' -a serve -d 'Chat server relaying lines between clients'
complete -c evtool -n '__evtool_at tcp' -a chat -d 'Connect to a server: stdin to it, its bytes to stdout'
complete -c evtool -n '__evtool_at tcp' -a forward -d 'Forward each connection to HOST:PORT (a relay, like socat)'
complete -c evtool -n '__evtool_at tcp' -a proxy -d 'Alias of forward'
for path in 'tcp echo' 'tcp serve' 'tcp forward'
    complete -c evtool -n "__evtool_at '$path'" -l unix -r -F -d 'Listen on a Unix domain socket instead of a port'
    complete -c evtool -n "__evtool_at '$path'" -l bind -x -d 'Address to listen on (default 0.0.0.0)'
    complete -c evtool -n "__evtool_at '$path'" -l max-conns -x -d 'Serve at most this many connections at once'
    complete -c evtool -n "__evtool_at '$path'" -l idle-timeout -x -d 'Close a connection idle this long'
    complete -c evtool -n "__evtool_at '$path'" -l rate -x -d 'Limit each connection to bytes per second'
    complete -c evtool -n "__evtool_at '$path'" -l group-rate -x -d 'Limit all connections together to bytes per second'
    complete -c evtool -n "__evtool_at '$path'" -l threads -x -d 'Event loops sharing the port (SO_REUSEPORT)'
end
# Every server drains in-flight work on SIGINT/SIGTERM.
for path in 'tcp echo' 'tcp serve' 'tcp forward' 'udp echo' 'http serve' 'dns serve'
    complete -c evtool -n "__evtool_at '$path'" -l drain-timeout -x -d 'Give in-flight work this long to finish on SIGINT/SIGTERM (default 10s)'
end
# TLS on the servers.
for path in 'tcp echo' 'tcp serve' 'tcp forward' 'http serve'
    complete -c evtool -n "__evtool_at '$path'" -l tls -d 'Speak TLS (an ephemeral self-signed certificate unless --cert/--key)'
    complete -c evtool -n "__evtool_at '$path'" -l cert -r -F -d 'TLS certificate chain (PEM), with --key'
    complete -c evtool -n "__evtool_at '$path'" -l key -r -F -d 'TLS private key (PEM), with --cert'
end
complete -c evtool -n "__evtool_at 'tcp serve'" -l max-line -x -d 'Disconnect a client whose line is longer (default 64k)'
complete -c evtool -n "__evtool_at 'tcp serve'" -l max-queue -x -d 'Drop a client with more than this waiting to be sent to it (default 256k)'
complete -c evtool -n "__evtool_at 'tcp chat'" -l unix -r -F -d 'Connect to a Unix domain socket instead of HOST PORT'
complete -c evtool -n "__evtool_at 'tcp chat'" -l connect-timeout -x -d 'Give up connecting after this long (default 10s)'
complete -c evtool -n "__evtool_at 'tcp chat'" -l tls -d "Speak TLS, verifying the server's certificate and name"
complete -c evtool -n "__evtool_at 'tcp chat'" -s k -l insecure -d "TLS: do not verify the server's certificate"
complete -c evtool -n "__evtool_at 'tcp chat'" -l cacert -r -F -d 'TLS: trust the CA certificates in this file'
complete -c evtool -n "__evtool_at 'tcp chat'" -l servername -x -a '(__fish_print_hostnames)' -d 'TLS: name sent as SNI and verified (default: HOST)'
complete -c evtool -n "__evtool_at 'tcp forward'" -l connect-timeout -x -d 'Give up connecting to the target after this long (default 10s)'
complete -c evtool -n "__evtool_at 'tcp forward'" -l to-tls -d 'Speak TLS to the target, verifying its certificate and name'
complete -c evtool -n "__evtool_at 'tcp forward'" -s k -l insecure -d 'TLS to the target: do not verify its certificate'
complete -c evtool -n "__evtool_at 'tcp forward'" -l cacert -r -F -d 'TLS to the target: trust the CA certificates in this file'
complete -c evtool -n "__evtool_at 'tcp forward'" -l servername -x -a '(__fish_print_hostnames)' -d 'TLS to the target: name sent as SNI and verified'

# evtool udp
complete -c evtool -n '__evtool_at udp' -a echo -d 'Send each datagram back to its sender'
complete -c evtool -n '__evtool_at udp' -a chat -d 'Stdin lines as datagrams to HOST PORT, datagrams back to stdout'
complete -c evtool -n "__evtool_at 'udp echo'" -l bind -x -d 'Address to listen on (default 0.0.0.0)'
complete -c evtool -n "__evtool_at 'udp echo'" -l threads -x -d 'Event loops, each with its own socket on the port (SO_REUSEPORT)'
complete -c evtool -n "__evtool_at 'udp chat'" -l wait -x -d 'At stdin EOF, exit after this long without a datagram (default 1s)'
complete -c evtool -n "__evtool_at 'udp chat'" -l binary -d 'Stdin chunks as datagrams, datagrams written raw'

# evtool http
complete -c evtool -n '__evtool_at http' -a get -d 'Fetch a URL, the body to stdout (curl-like)'
complete -c evtool -n '__evtool_at http' -a post -d 'POST a body to a URL, the response body to stdout'
complete -c evtool -n '__evtool_at http' -a serve -d 'Static file server'
for path in 'http get' 'http post'
    complete -c evtool -n "__evtool_at '$path'" -s H -l header -x -d 'Add a request header (Name: value)'
    complete -c evtool -n "__evtool_at '$path'" -s o -l output -r -F -d 'Write the body to a file (may be a FIFO)'
    complete -c evtool -n "__evtool_at '$path'" -s i -l include -d 'Write the response head before the body'
    complete -c evtool -n "__evtool_at '$path'" -s X -l request -x -a 'GET HEAD POST PUT PATCH DELETE OPTIONS' -d 'Request method'
    complete -c evtool -n "__evtool_at '$path'" -s L -l location -d 'Follow redirects'
    complete -c evtool -n "__evtool_at '$path'" -l max-redirs -x -d 'Follow at most this many redirects (default 10)'
    complete -c evtool -n "__evtool_at '$path'" -s f -l fail -d 'Exit 6 without the body when the status is >= 400'
    complete -c evtool -n "__evtool_at '$path'" -l timeout -x -d 'Give up the whole transfer after this long'
    complete -c evtool -n "__evtool_at '$path'" -l connect-timeout -x -d 'Give up connecting to an address after this long'
    complete -c evtool -n "__evtool_at '$path'" -l retries -x -d 'Retry connect failures and timeouts, with backoff'
    complete -c evtool -n "__evtool_at '$path'" -l unix-socket -r -F -d 'Connect to this Unix domain socket (the URL gives Host and path)'
    complete -c evtool -n "__evtool_at '$path'" -s k -l insecure -d 'https: do not verify the certificate'
    complete -c evtool -n "__evtool_at '$path'" -l cacert -r -F -d 'https: trust the CA certificates in this file'
end
complete -c evtool -n "__evtool_at 'http get'" -s I -l head -d 'Send HEAD and write only the response head'
complete -c evtool -n "__evtool_at 'http post'" -s d -l data -x -d 'Body (@FILE a file, @- stdin; line ends dropped)'
complete -c evtool -n "__evtool_at 'http post'" -l data-binary -x -d 'Body (@FILE a file, @- stdin; byte for byte)'
complete -c evtool -n "__evtool_at 'http post'" -s F -l form -x -d 'Multipart field name=value or name=@FILE'
complete -c evtool -n "__evtool_at 'http post'" -l content-type -x -d 'Content-Type of the body'

complete -c evtool -n "__evtool_at 'http serve'" -a '(__fish_complete_directories (commandline -ct))' -d 'Directory to serve (default .)'
complete -c evtool -n "__evtool_at 'http serve'" -s p -l port -x -d 'TCP port (default 8080, 0 picks a free one)'
complete -c evtool -n "__evtool_at 'http serve'" -l bind -x -d 'Address to listen on (default 0.0.0.0)'
complete -c evtool -n "__evtool_at 'http serve'" -l unix -r -F -d 'Listen on a Unix domain socket instead of a port'
complete -c evtool -n "__evtool_at 'http serve'" -l threads -x -d 'Event loops sharing the port (SO_REUSEPORT)'
complete -c evtool -n "__evtool_at 'http serve'" -l max-conns -x -d 'Answer 503 to connections beyond this many at once'
complete -c evtool -n "__evtool_at 'http serve'" -l timeout -x -d 'Idle and header-read timeout (default 30s)'
complete -c evtool -n "__evtool_at 'http serve'" -l min-rate -x -d 'Close a request body slower than this many bytes/s (default 500)'
complete -c evtool -n "__evtool_at 'http serve'" -l max-header -x -d 'Largest request head (default 16k)'
complete -c evtool -n "__evtool_at 'http serve'" -l max-body -x -d 'Largest request body (default 1M)'
complete -c evtool -n "__evtool_at 'http serve'" -l no-listing -d 'Do not list directories without an index file'
complete -c evtool -n "__evtool_at 'http serve'" -l index -r -F -d 'Index file name (default index.html)'
complete -c evtool -n "__evtool_at 'http serve'" -l echo -x -d 'Answer any method on PATH with a JSON description of the request'

# evtool dns
complete -c evtool -n '__evtool_at dns' -a resolve -d "Look names up with the engine's resolver"
complete -c evtool -n '__evtool_at dns' -a lookup -d 'Alias of resolve'
complete -c evtool -n '__evtool_at dns' -a serve -d 'Authoritative DNS server on UDP and TCP'
complete -c evtool -n "__evtool_at 'dns resolve'" -s t -l type -x -a 'A AAAA CNAME MX TXT NS SOA SRV PTR CAA ANY' -d 'Record type (default A and AAAA)'
complete -c evtool -n "__evtool_at 'dns resolve'" -s x -l reverse -d 'NAME is an IP address: ask for its PTR'
complete -c evtool -n "__evtool_at 'dns resolve'" -l server -x -d 'Nameserver ADDR[:PORT] (repeatable)'
complete -c evtool -n "__evtool_at 'dns resolve'" -s p -l port -x -d 'Port of the servers given without one'
complete -c evtool -n "__evtool_at 'dns resolve'" -s 4 -d 'Ask only IPv4 nameservers'
complete -c evtool -n "__evtool_at 'dns resolve'" -s 6 -d 'Ask only IPv6 nameservers'
complete -c evtool -n "__evtool_at 'dns resolve'" -l resolv-conf -r -F -d 'resolv.conf to read'
complete -c evtool -n "__evtool_at 'dns resolve'" -l hosts -r -F -d 'Hosts file'
complete -c evtool -n "__evtool_at 'dns resolve'" -l no-hosts -d 'Do not use the hosts file'
complete -c evtool -n "__evtool_at 'dns resolve'" -l no-search -d 'Do not apply the search list'
complete -c evtool -n "__evtool_at 'dns resolve'" -l timeout -x -d 'Timeout per try'
complete -c evtool -n "__evtool_at 'dns resolve'" -l tries -x -d 'Tries per nameserver'
complete -c evtool -n "__evtool_at 'dns resolve'" -l tcp -d 'Query over TCP'
complete -c evtool -n "__evtool_at 'dns resolve'" -l short -d 'Print only the data of each answer'
complete -c evtool -n "__evtool_at 'dns resolve'" -s f -l file -r -F -d 'Read names from a file (- for stdin)'
complete -c evtool -n "__evtool_at 'dns resolve'" -l max-inflight -x -d 'Queries in flight at once'
complete -c evtool -n "__evtool_at 'dns serve'" -s p -l port -x -d 'Port for UDP and TCP (default 5353)'
complete -c evtool -n "__evtool_at 'dns serve'" -l bind -x -d 'Address to listen on (default 0.0.0.0)'
complete -c evtool -n "__evtool_at 'dns serve'" -l zone -r -F -d 'Zone file to serve (repeatable)'
complete -c evtool -n "__evtool_at 'dns serve'" -l record -x -d 'A record: NAME [TTL] [IN] TYPE DATA'
complete -c evtool -n "__evtool_at 'dns serve'" -l hosts -r -F -d 'Hosts file: A/AAAA and PTR records'
complete -c evtool -n "__evtool_at 'dns serve'" -l ttl -x -d 'TTL for records without one (default 300)'
complete -c evtool -n "__evtool_at 'dns serve'" -l forward -x -d 'Relay other names to ADDR[:PORT]'
complete -c evtool -n "__evtool_at 'dns serve'" -l unix -r -F -d 'Listen on a Unix domain stream socket instead of the ports'
