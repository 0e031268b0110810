using System.Net;
using System.Net.Sockets;

namespace CqrsDapr.TestSupport;

/// <summary>Hands out TCP ports on 127.0.0.1 that were free a moment ago.</summary>
/// <remarks>
/// Ports come from 15000–27999, below the kernel's ephemeral range (32768–60999 on Linux): the ports the OS gives
/// outgoing connections and port-0 listeners of every process on the machine. Handed-out ports used to come from that
/// range, and under load (the end-to-end tests open many connections) another process took one between
/// <see cref="Next"/> and the bind. Aspire's orchestrator was seen allocating from 28000 up. Another process
/// may still pick the same port by chance, so every server started by this library retries on a new port when it
/// reports "address already in use". Within this process a port is never handed out twice.
/// </remarks>
public static class FreePort
{
    private const int First = 15000;
    private const int Count = 13000;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    /// <summary>Returns a port that is free on 127.0.0.1 and was not handed out before by this process.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = First + Random.Shared.Next(Count);
            if (!IsFree(port))
            {
                continue;
            }

            lock (Gate)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"Could not find a free TCP port on 127.0.0.1 in {First}–{First + Count - 1} after 200 attempts.");
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port) { ExclusiveAddressUse = true };
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
