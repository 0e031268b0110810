using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;

namespace CqrsDapr.DaprEmulator.PubSub.Redis;

/// <summary>The kinds of RESP2 replies.</summary>
internal enum RespKind
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Null,
}

/// <summary>One RESP2 reply: a bulk string keeps its bytes, an array its items.</summary>
internal sealed class RespValue
{
    public static readonly RespValue NullValue = new(RespKind.Null);

    private RespValue(RespKind kind) => Kind = kind;

    public RespKind Kind { get; }

    public string? Text { get; private init; }

    public long Integer { get; private init; }

    public byte[]? Bytes { get; private init; }

    public RespValue[]? Items { get; private init; }

    public static RespValue Simple(string text) => new(RespKind.SimpleString) { Text = text };

    public static RespValue Error(string text) => new(RespKind.Error) { Text = text };

    public static RespValue Int(long value) => new(RespKind.Integer) { Integer = value };

    public static RespValue Bulk(byte[] bytes) => new(RespKind.BulkString) { Bytes = bytes };

    public static RespValue Array(RespValue[] items) => new(RespKind.Array) { Items = items };

    public string AsString() => Kind switch
    {
        RespKind.BulkString => Encoding.UTF8.GetString(Bytes!),
        RespKind.SimpleString or RespKind.Error => Text!,
        RespKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        _ => "",
    };
}

/// <summary>A Redis server replied with an error (<c>-ERR ...</c>, <c>-NOGROUP ...</c>).</summary>
internal sealed class RedisReplyException(string message) : Exception(message);

/// <summary>
/// A single, unshared connection speaking RESP2, for the one thing StackExchange.Redis cannot do on its multiplexed
/// connection: a blocking <c>XREADGROUP ... BLOCK</c>, which parks the connection until Redis pushes new entries. The
/// caller sends one command and awaits its reply; there is no pipelining and no reconnection here (the owner
/// reconnects).
/// </summary>
internal sealed class RespConnection : IAsyncDisposable
{
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly PipeReader reader;

    private RespConnection(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
    }

    /// <summary>Connects, then authenticates and selects the database as go-redis does on a new connection.</summary>
    public static async Task<RespConnection> ConnectAsync(RedisEndpoint endpoint, string? username, string? password, int database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimeout.CancelAfter(timeout);
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, connectTimeout.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RespConnection(socket);
        try
        {
            if (!string.IsNullOrEmpty(password))
            {
                var auth = string.IsNullOrEmpty(username) ? Encode("AUTH", password) : Encode("AUTH", username, password);
                ThrowIfError(await connection.ExecuteAsync(auth, cancellationToken));
            }

            if (database != 0)
            {
                ThrowIfError(await connection.ExecuteAsync(Encode("SELECT", database.ToString(CultureInfo.InvariantCulture)), cancellationToken));
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A command as a RESP array of bulk strings, ready to be sent as often as needed.</summary>
    public static byte[] Encode(params ReadOnlySpan<string> arguments)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Append(buffer, $"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            var bytes = Encoding.UTF8.GetBytes(argument);
            Append(buffer, $"${bytes.Length}\r\n");
            buffer.Write(bytes);
            buffer.Write("\r\n"u8);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Sends one encoded command and returns its reply; error replies are returned, not thrown.</summary>
    public async Task<RespValue> ExecuteAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(command, cancellationToken);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (TryParse(buffer, out var value, out var consumed))
            {
                reader.AdvanceTo(consumed);
                return value;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("connection closed by the Redis server");
            }
        }
    }

    public static void ThrowIfError(RespValue reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (reply.Kind == RespKind.Error)
        {
            throw new RedisReplyException(reply.Text!);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Closing the socket is what interrupts a read parked on BLOCK.
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        await reader.CompleteAsync();
        await stream.DisposeAsync();
    }

    private static void Append(ArrayBufferWriter<byte> buffer, string ascii)
    {
        var span = buffer.GetSpan(ascii.Length);
        var written = Encoding.ASCII.GetBytes(ascii, span);
        buffer.Advance(written);
    }

    private static bool TryParse(ReadOnlySequence<byte> buffer, out RespValue value, out SequencePosition consumed)
    {
        var sequenceReader = new SequenceReader<byte>(buffer);
        if (TryRead(ref sequenceReader, out value))
        {
            consumed = sequenceReader.Position;
            return true;
        }

        consumed = buffer.Start;
        return false;
    }

    private static bool TryRead(ref SequenceReader<byte> reader, out RespValue value)
    {
        value = RespValue.NullValue;
        if (!reader.TryRead(out var prefix) || !reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            return false;
        }

        switch (prefix)
        {
            case (byte)'+':
                value = RespValue.Simple(Encoding.UTF8.GetString(line));
                return true;
            case (byte)'-':
                value = RespValue.Error(Encoding.UTF8.GetString(line));
                return true;
            case (byte)':':
                value = RespValue.Int(ParseInteger(line));
                return true;
            case (byte)'$':
                {
                    var length = ParseInteger(line);
                    if (length < 0)
                    {
                        return true;
                    }

                    if (reader.Remaining < length + 2)
                    {
                        return false;
                    }

                    var bytes = GC.AllocateUninitializedArray<byte>((int)length);
                    reader.UnreadSequence.Slice(0, length).CopyTo(bytes);
                    reader.Advance(length + 2);
                    value = RespValue.Bulk(bytes);
                    return true;
                }

            case (byte)'*':
                {
                    var count = ParseInteger(line);
                    if (count < 0)
                    {
                        return true;
                    }

                    var items = new RespValue[count];
                    for (var i = 0; i < items.Length; i++)
                    {
                        if (!TryRead(ref reader, out items[i]))
                        {
                            return false;
                        }
                    }

                    value = RespValue.Array(items);
                    return true;
                }

            default:
                throw new IOException($"unexpected RESP reply type '{(char)prefix}'");
        }
    }

    private static long ParseInteger(ReadOnlySequence<byte> line)
    {
        Span<byte> digits = stackalloc byte[24];
        if (line.Length > digits.Length)
        {
            throw new IOException("malformed RESP integer");
        }

        line.CopyTo(digits);
        return Utf8Parser.TryParse(digits[..(int)line.Length], out long n, out var used) && used == line.Length
            ? n
            : throw new IOException("malformed RESP integer");
    }
}
