using System.Net;
using System.Net.Http.Headers;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Shards.Storage;

/// <summary>
/// Shards on an HTTP(S) server, read with range requests. HTTP has no listing: the shard names come from the options
/// or from an <c>index.txt</c> beside them (one name a line).
/// </summary>
internal sealed class HttpStorage(Uri baseUri, IReadOnlyList<string>? names, HttpClient? client) : IShardStorage
{
    private readonly HttpClient _client = client ?? new HttpClient();
    private readonly bool _ownsClient = client is null;

    public bool IsLocal => false;

    public string Describe(string key) => new Uri(baseUri, key).ToString();

    public string LocalPath(string key) => throw new NotSupportedException();

    public async Task<IReadOnlyList<StoredObject>> ListAsync(string suffix, CancellationToken cancellationToken)
    {
        var list = names;
        if (list is null)
        {
            var index = new Uri(baseUri, "index.txt");
            string text;
            try
            {
                text = await _client.GetStringAsync(index, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                throw Translate(ex, index.ToString());
            }

            list = [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        }

        var found = new List<StoredObject>();
        foreach (var name in list.Where(n => n.EndsWith(suffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            found.Add(await StatAsync(name, cancellationToken).ConfigureAwait(false));
        }

        return found;
    }

    public async Task<StoredObject> StatAsync(string key, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, key);
        using var request = new HttpRequestMessage(HttpMethod.Head, uri);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var length = response.Content.Headers.ContentLength ?? throw new IOException($"{uri} answered HEAD without a Content-Length.");
        return new StoredObject(key, length);
    }

    public async Task<int> ReadRangeAsync(string key, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        var uri = new Uri(baseUri, key);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Range = new RangeHeaderValue(offset, offset + buffer.Length - 1);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            throw new IOException($"{uri} ignored the range request (status {(int)response.StatusCode}): the server must support HTTP range requests.");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await ReadFullyAsync(stream, buffer, uri, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long end, CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, key);
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Range = new RangeHeaderValue(offset, end - 1);

        var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        // A server without ranges answers the whole object: its first bytes are the range's when that starts at 0.
        if (offset > 0 && response.StatusCode != HttpStatusCode.PartialContent)
        {
            response.Dispose();
            throw new IOException($"{uri} ignored the range request (status {(int)response.StatusCode}).");
        }

        return new NetworkErrorStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), response, uri.ToString());
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw Translate(ex, request.RequestUri!.ToString());
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = response.StatusCode;
            response.Dispose();
            throw StatusError(status, request.RequestUri!.ToString());
        }

        return response;
    }

    internal static Exception StatusError(HttpStatusCode status, string address) => status switch
    {
        HttpStatusCode.NotFound => new FileNotFoundException($"{address} does not exist (HTTP 404).", address),
        HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized => new UnauthorizedAccessException($"{address}: access denied (HTTP {(int)status})."),
        _ => new IOException($"{address} answered HTTP {(int)status} {status}."),
    };

    /// <summary>A network failure as an <see cref="IOException"/>, which <see cref="RetryPolicy.IsTransientByDefault"/> retries.</summary>
    internal static IOException Translate(Exception ex, string address) => new($"Reading {address} failed: {ex.Message}", ex);

    internal static async Task<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, Uri uri, CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            while (total < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch (HttpRequestException ex)
        {
            throw Translate(ex, uri.ToString());
        }

        return total;
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }
}
