/*
 * A stand-in for Windows' bcryptprimitives.dll, for the Wine test only.
 *
 * Go's Windows runtime fills its random numbers from ProcessPrng, which
 * bcryptprimitives.dll exports on Windows 10 and later; Debian's Wine 8.0
 * has no such DLL, and the runtime stops before main. This gap is Wine's,
 * not the binary's: a reader's Windows has the DLL. The stand-in answers
 * ProcessPrng from advapi32's RtlGenRandom (exported as SystemFunction036),
 * which Wine does implement. It is compiled at test time into the test's
 * own Wine prefix, and never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	/* RtlGenRandom takes a ULONG length; ProcessPrng a SIZE_T one. */
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
