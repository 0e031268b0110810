using System.Net;
using System.Net.Sockets;

namespace CqrsDapr.TestSupport;

/// <summary>Hands out TCP ports on 127.0.0.1 that were free a moment ago.</summary>
/// <remarks>
/// Another process may still grab the port between <see cref="Next"/> and the server binding it,
/// so every server started by this library retries on a new port when it reports "address already in use".
/// Within this process a port is never handed out twice.
/// </remarks>
public static class FreePort
{
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    /// <summary>Returns a port that is free on 127.0.0.1 and was not handed out before by this process.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port;
            try
            {
                port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }
            finally
            {
                listener.Stop();
            }

            lock (Gate)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("Could not find a free TCP port on 127.0.0.1 after 100 attempts.");
    }
}
