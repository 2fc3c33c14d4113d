/**
 * A DNS client for inside the sandbox (the base image has perl but no dig): it sends one
 * question over UDP or TCP to a server and prints `LABEL rcode=N answers=N`, or
 * `LABEL error: ...` when it cannot send or hears nothing within 5 s.
 * Usage: perl dnsq.pl LABEL SERVER PORT NAME A|AAAA|TXT udp|tcp
 */
export const DNS_CLIENT = String.raw`
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($label, $server, $port, $name, $type, $over) = @ARGV;
my %types = (A => 1, TXT => 16, AAAA => 28);
my $q = pack('n6', int(rand(65535)), 0x0100, 1, 0, 0, 0);
$q .= chr(length $_) . $_ for split /\./, $name;
$q .= "\0" . pack('n2', $types{$type}, 1);

sub fail { print "$label error: $_[0]\n"; exit 0 }
my $s = IO::Socket::INET->new(PeerAddr => $server, PeerPort => $port, Proto => $over,
  Timeout => 5) or fail($!);
my $r = '';
if ($over eq 'tcp') {
  print {$s} pack('n', length $q) . $q or fail($!);
  my $len = '';
  read($s, $len, 2);
  read($s, $r, unpack('n', $len)) if length $len == 2;
} else {
  defined send($s, $q, 0) or fail($!);
  recv($s, $r, 65535, 0) if IO::Select->new($s)->can_read(5);
}
fail('no answer') if length $r < 12;
my (undef, $flags, undef, $answers) = unpack('n4', $r);
printf "%s rcode=%d answers=%d\n", $label, $flags & 15, $answers;
`;
